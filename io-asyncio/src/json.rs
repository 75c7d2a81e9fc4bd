//! JSON values to and from Python objects.
//!
//! Python to JSON follows `json.dumps(obj, allow_nan=False)`: dicts, lists,
//! tuples, strings, integers, floats, booleans and `None` (subclasses
//! included, so `str` and `int` enums go out as their values); keys may be
//! strings, integers, floats, booleans or `None`, converted as `json.dumps`
//! converts them. Everything else is refused with the error `json.dumps`
//! raises: `TypeError` for an object it cannot serialise or a key of another
//! type, `ValueError` for NaN and the infinities. Integers beyond 64 bits and
//! nesting deeper than [`MAX_DEPTH`] (where `json.dumps` would recurse until
//! Python's limit) are refused with `ValueError` too: nothing is coerced.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

/// Deepest nesting of containers accepted from Python.
pub const MAX_DEPTH: usize = 64;

/// A JSON value as a Python object (objects keep their key order).
pub fn to_py(py: Python<'_>, v: &Value) -> PyResult<Py<PyAny>> {
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                // serde_json numbers are i64, u64 or finite f64.
                n.as_f64()
                    .unwrap_or(f64::NAN)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any().unbind(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, to_py(py, v)?)?;
            }
            dict.into_any().unbind()
        }
    })
}

fn float(f: f64) -> PyResult<Number> {
    Number::from_f64(f)
        .ok_or_else(|| PyValueError::new_err("Out of range float values are not JSON compliant"))
}

fn int(i: &Bound<'_, PyInt>) -> PyResult<Number> {
    if let Ok(v) = i.extract::<i64>() {
        return Ok(Number::from(v));
    }
    if let Ok(v) = i.extract::<u64>() {
        return Ok(Number::from(v));
    }
    Err(PyValueError::new_err(
        "integer out of range: JSON numbers sent to the connector must fit in 64 bits",
    ))
}

/// The key `json.dumps` would write for `k`.
fn key(k: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = k.cast::<PyString>() {
        return Ok(s.to_str()?.to_owned());
    }
    if let Ok(b) = k.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.to_owned());
    }
    if k.is_none() {
        return Ok("null".to_owned());
    }
    if let Ok(i) = k.cast::<PyInt>() {
        return Ok(int(i)?.to_string());
    }
    if let Ok(f) = k.cast::<PyFloat>() {
        // json.dumps writes float keys with float.__repr__.
        let v = f.value();
        float(v)?;
        return k
            .py()
            .get_type::<PyFloat>()
            .call_method1("__repr__", (v,))?
            .extract();
    }
    Err(PyTypeError::new_err(format!(
        "keys must be str, int, float, bool or None, not {}",
        k.get_type().name()?
    )))
}

/// A Python object as a JSON value, refusing what `json.dumps` refuses.
pub fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    from_py_at(obj, 0)
}

/// [`from_py`] for a value nested `depth` containers deep.
pub fn from_py_at(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "value nests deeper than {MAX_DEPTH} levels (or refers to itself)"
        )));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        return int(i).map(Value::Number);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return float(f.value()).map(Value::Number);
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            map.insert(key(&k)?, from_py_at(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return l
            .iter()
            .map(|v| from_py_at(&v, depth + 1))
            .collect::<PyResult<_>>()
            .map(Value::Array);
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return t
            .iter()
            .map(|v| from_py_at(&v, depth + 1))
            .collect::<PyResult<_>>()
            .map(Value::Array);
    }
    Err(PyTypeError::new_err(format!(
        "Object of type {} is not JSON serializable",
        obj.get_type().name()?
    )))
}

/// A serialisable value as JSON (`Null` if it cannot be: never for the
/// core's own types).
pub fn json_of<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}
