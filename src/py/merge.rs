//! State-merge helpers: `langgraph_state_update` and `deep_merge`.
//!
//! Both return new dicts and never mutate their inputs. Values that are not merged
//! are shared with the inputs, not copied (as `{**a, **b}` does): the cost is in
//! the dicts along merged paths and in appended lists, never in untouched values.

use pyo3::exceptions::{PyRecursionError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

/// Nesting limit of `deep_merge` (a self-referencing dict would otherwise recurse forever).
const MAX_MERGE_DEPTH: usize = 500;

fn as_dict<'py>(value: &Bound<'py, PyAny>, what: &str) -> PyResult<Bound<'py, PyDict>> {
    value.cast::<PyDict>().cloned().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a dict, not {}",
            value
                .get_type()
                .name()
                .map(|n| n.to_string())
                .unwrap_or_default()
        ))
    })
}

/// `old + new` as a new list, where `new` is a list/tuple of items or a single item.
fn appended<'py>(
    old: Option<&Bound<'py, PyAny>>,
    new: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let py = new.py();
    let out = match old {
        None => PyList::empty(py),
        Some(old) if old.is_none() => PyList::empty(py),
        Some(old) => {
            if let Ok(list) = old.cast::<PyList>() {
                list.get_slice(0, list.len())
            } else if let Ok(tuple) = old.cast::<PyTuple>() {
                PyList::new(py, tuple.iter())?
            } else {
                return Err(PyTypeError::new_err(format!(
                    "append key holds a {}, not a list or tuple",
                    old.get_type().name()?
                )));
            }
        }
    };
    if let Ok(list) = new.cast::<PyList>() {
        for item in list.iter() {
            out.append(item)?;
        }
    } else if let Ok(tuple) = new.cast::<PyTuple>() {
        for item in tuple.iter() {
            out.append(item)?;
        }
    } else {
        out.append(new)?;
    }
    Ok(out)
}

/// A new state dict: `state` with `update` applied. Keys in `append_keys` extend the
/// state's list (a list/tuple update is concatenated, any other value appended as one
/// item); every other key is replaced. The inputs are not modified.
#[pyfunction]
#[pyo3(signature = (state, update, append_keys=None))]
pub fn langgraph_state_update<'py>(
    state: &Bound<'py, PyAny>,
    update: &Bound<'py, PyAny>,
    append_keys: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let state = as_dict(state, "state")?;
    let update = as_dict(update, "update")?;
    let out = state.copy()?;
    let append: Vec<Bound<'py, PyAny>> = match append_keys {
        None => Vec::new(),
        Some(keys) => keys.try_iter()?.collect::<PyResult<_>>()?,
    };
    for (key, value) in update.iter() {
        let mut is_append = false;
        for k in &append {
            if k.eq(&key)? {
                is_append = true;
                break;
            }
        }
        if is_append {
            let old = state.get_item(&key)?;
            out.set_item(&key, appended(old.as_ref(), &value)?)?;
        } else {
            out.set_item(&key, value)?;
        }
    }
    Ok(out)
}

/// `deep_merge` on two dicts (public for the criterion bench).
pub fn merge_into<'py>(
    base: &Bound<'py, PyDict>,
    update: &Bound<'py, PyDict>,
    depth: usize,
) -> PyResult<Bound<'py, PyDict>> {
    if depth > MAX_MERGE_DEPTH {
        return Err(PyRecursionError::new_err(format!(
            "deep_merge: dicts nested deeper than {MAX_MERGE_DEPTH} levels (a dict that contains itself?)"
        )));
    }
    let out = base.copy()?;
    for (key, value) in update.iter() {
        let merged = match (base.get_item(&key)?, value.cast::<PyDict>()) {
            (Some(old), Ok(new)) => match old.cast::<PyDict>() {
                Ok(old) => merge_into(old, new, depth + 1)?.into_any(),
                Err(_) => value,
            },
            _ => value,
        };
        out.set_item(key, merged)?;
    }
    Ok(out)
}

/// A new dict: `base` with `update` merged in recursively. Where both sides hold a
/// dict the two are merged; anywhere else `update`'s value wins. Inputs are not
/// modified; values that are not merged are shared, not copied.
#[pyfunction]
fn deep_merge<'py>(
    base: &Bound<'py, PyAny>,
    update: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
    merge_into(&as_dict(base, "base")?, &as_dict(update, "update")?, 0)
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(langgraph_state_update, m)?)?;
    m.add_function(wrap_pyfunction!(deep_merge, m)?)?;
    Ok(())
}
