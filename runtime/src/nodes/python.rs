//! The `Python` node: a user class with a `process(data)` method.
//!
//! The class comes from a module file (`module_path`, relative to the
//! manifest's directory) or from inline `source`; it is instantiated once
//! with the `init` params as keyword arguments, then `process` is called
//! once per item. With several incoming connections `process` receives a
//! list (connection order). Returning `None` drops the item. A Python
//! exception becomes a node error carrying the traceback.
//!
//! The source is compiled with the file name exactly as written in the
//! manifest (and registered in `linecache`), so tracebacks show the same
//! text on every host.

use pyo3::prelude::*;
use pyo3::types::PyDict;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value as Json;

use crate::error::describe_io_error;
use crate::python::{format_py_err, init_interpreter, py_to_value, value_to_py};
use crate::registry::{FileParam, Node, NodeContext, NodeParams, ParamError, Registry, TypedKind};
use crate::value::{path_key, Value};

pub fn register(r: &mut Registry) {
    r.register(Box::new(TypedKind::<PythonParams>::new(
        "Python",
        "Runs a Python class: `process(data)` per item (None drops the item).",
        None,
        build,
    )));
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["module_path"]}, {"required": ["source"]}]))]
pub struct PythonParams {
    /// Python file defining the class (relative to the manifest's directory).
    #[serde(default)]
    pub module_path: Option<String>,
    /// Inline Python source defining the class (instead of `module_path`).
    #[serde(default)]
    pub source: Option<String>,
    /// Name of the class to instantiate.
    #[serde(rename = "class")]
    pub class_name: String,
    /// Keyword arguments for the class constructor (runtime value encoding).
    #[serde(default)]
    pub init: serde_json::Map<String, Json>,
}

impl NodeParams for PythonParams {
    fn check(&self) -> Result<(), ParamError> {
        match (&self.module_path, &self.source) {
            (Some(_), Some(_)) | (None, None) => {
                return Err(ParamError::new(
                    "",
                    "give exactly one of `module_path` or `source`",
                ));
            }
            (Some(p), None) if p.is_empty() => {
                return Err(ParamError::new("module_path", "must not be empty"))
            }
            _ => {}
        }
        let ident = |s: &str| {
            s.chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '_')
                && s.chars().all(|c| c.is_alphanumeric() || c == '_')
        };
        if !ident(&self.class_name) {
            return Err(ParamError::new(
                "class",
                format!(
                    "{} is not a Python class name",
                    Json::String(self.class_name.clone())
                ),
            ));
        }
        for (k, v) in &self.init {
            if !ident(k) {
                return Err(ParamError::new(
                    path_key("init", k),
                    "not a valid Python keyword argument name",
                ));
            }
            Value::from_json(v, &path_key("init", k)).map_err(|e| {
                // from_json's message already starts with the path.
                let (p, m) = e.split_once(": ").unwrap_or(("init", e.as_str()));
                ParamError::new(p, m)
            })?;
        }
        Ok(())
    }
    fn files(&self) -> Vec<FileParam> {
        self.module_path
            .iter()
            .map(|p| FileParam {
                param: "module_path",
                path: p.clone(),
            })
            .collect()
    }
}

struct PythonNode {
    /// The instance's bound `process`, looked up once when the node is made
    /// (not per item: a string lookup per call is a third of a number's cost).
    process: Py<PyAny>,
}

fn module_name(id: &str) -> String {
    let clean: String = id
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("pipeline_node_{clean}")
}

fn build(ctx: &NodeContext, p: PythonParams) -> Result<Box<dyn Node>, String> {
    let (source, filename, extra_path) = match (&p.module_path, &p.source) {
        (Some(path), _) => {
            let resolved = ctx.resolve(path);
            let text = std::fs::read_to_string(&resolved).map_err(|e| {
                format!(
                    "cannot read module_path '{path}': {}",
                    describe_io_error(&e)
                )
            })?;
            let dir = resolved.parent().map(|d| d.to_string_lossy().into_owned());
            (text, path.clone(), dir)
        }
        (None, Some(src)) => (src.clone(), format!("<inline:{}>", ctx.id), None),
        (None, None) => return Err("give exactly one of `module_path` or `source`".into()),
    };
    init_interpreter().map_err(|e| e.to_string())?;
    let mut init = Vec::new();
    for (k, v) in &p.init {
        init.push((k.clone(), Value::from_json(v, &path_key("init", k))?));
    }
    Python::attach(|py| {
        let fail = |e: PyErr| format_py_err(py, &e);
        // Register the source in linecache so tracebacks show source lines
        // without reading the file again (mtime None = never invalidated).
        let lines = py.import("linecache").and_then(|lc| {
            let cache = lc.getattr("cache")?;
            let lines = PyModule::import(py, "builtins")?
                .getattr("str")?
                .getattr("splitlines")?
                .call1((source.as_str(), true))?;
            cache.set_item(&filename, (source.len(), py.None(), lines, &filename))
        });
        lines.map_err(fail)?;
        if let Some(dir) = &extra_path {
            let sys_path = py
                .import("sys")
                .and_then(|s| s.getattr("path"))
                .map_err(fail)?;
            if !sys_path.contains(dir).unwrap_or(true) {
                sys_path.call_method1("insert", (0, dir)).map_err(fail)?;
            }
        }
        let builtins = PyModule::import(py, "builtins").map_err(fail)?;
        let compiled = builtins
            .getattr("compile")
            .and_then(|c| c.call1((source.as_str(), filename.as_str(), "exec")))
            .map_err(|e| format!("cannot load {filename}: {}", fail(e)))?;
        let name = module_name(&ctx.id);
        let module = PyModule::new(py, &name).map_err(fail)?;
        module.setattr("__file__", &filename).map_err(fail)?;
        py.import("sys")
            .and_then(|s| s.getattr("modules"))
            .and_then(|m| m.set_item(&name, &module))
            .map_err(fail)?;
        builtins
            .getattr("exec")
            .and_then(|ex| ex.call1((compiled, module.dict())))
            .map_err(|e| format!("cannot load {filename}: {}", fail(e)))?;
        let cls = module
            .getattr(p.class_name.as_str())
            .map_err(|_| format!("{filename} defines no class '{}'", p.class_name))?;
        if !cls.is_instance_of::<pyo3::types::PyType>() {
            return Err(format!("'{}' in {filename} is not a class", p.class_name));
        }
        let kwargs = PyDict::new(py);
        for (k, v) in &init {
            kwargs
                .set_item(k, value_to_py(py, v).map_err(fail)?)
                .map_err(fail)?;
        }
        let instance = cls
            .call((), Some(&kwargs))
            .map_err(|e| format!("{}(...) raised {}", p.class_name, fail(e)))?;
        let process = instance
            .getattr("process")
            .map_err(|_| format!("class '{}' has no process() method", p.class_name))?;
        if !process.is_callable() {
            return Err(format!("'{}.process' is not callable", p.class_name));
        }
        Ok(Box::new(PythonNode {
            process: process.unbind(),
        }) as Box<dyn Node>)
    })
}

impl Node for PythonNode {
    fn process(&mut self, mut inputs: Vec<Value>) -> Result<Option<Value>, String> {
        Python::attach(|py| {
            let fail = |e: PyErr| format_py_err(py, &e);
            let arg = if inputs.len() == 1 {
                value_to_py(py, &inputs.pop().unwrap_or(Value::Null)).map_err(fail)?
            } else {
                value_to_py(py, &Value::List(inputs)).map_err(fail)?
            };
            let result = self.process.bind(py).call1((arg,)).map_err(fail)?;
            if result.is_none() {
                return Ok(None);
            }
            py_to_value(&result, "process() result")
                .map(Some)
                .map_err(|e| format!("cannot use the value returned by process(): {e}"))
        })
    }
}
