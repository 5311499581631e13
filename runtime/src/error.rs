//! One error type for the whole runtime. Every failure maps to a process
//! exit code (see README), so the native CLI and the wasm entry point report
//! the same thing the same way.

use std::fmt;

/// What went wrong, in the terms of the CLI's exit-code contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad command line (exit 1).
    Usage,
    /// A file could not be read or written (exit 1).
    Io,
    /// The manifest is not valid: JSON syntax, structure, unknown node type,
    /// bad params, cycle, dangling connection, duplicate id (exit 2).
    Manifest,
    /// A node failed while the pipeline was being built or run (exit 3).
    Node,
    /// The input items are invalid (exit 4).
    Inputs,
}

/// One row of the exit-code table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExitCodeEntry {
    /// The process exit code.
    pub code: i32,
    /// Short name: `success`, `usage`, `manifest`, `node` or `inputs`.
    pub kind: &'static str,
    /// What it means (one line, as in `--help`).
    pub meaning: &'static str,
}

const SUCCESS: ExitCodeEntry = ExitCodeEntry {
    code: 0,
    kind: "success",
    meaning: "success",
};
const USAGE: ExitCodeEntry = ExitCodeEntry {
    code: 1,
    kind: "usage",
    meaning: "usage or I/O error (bad arguments, missing file)",
};
const MANIFEST: ExitCodeEntry = ExitCodeEntry {
    code: 2,
    kind: "manifest",
    meaning: "invalid manifest (JSON, structure, unknown node type, params, cycle, ...)",
};
const NODE: ExitCodeEntry = ExitCodeEntry {
    code: 3,
    kind: "node",
    meaning: "a node failed (at start-up or on an item; e.g. Python exception)",
};
const INPUTS: ExitCodeEntry = ExitCodeEntry {
    code: 4,
    kind: "inputs",
    meaning: "invalid inputs",
};

/// The exit-code contract, sorted by code. The single source of
/// [`ErrorKind::exit_code`], the EXIT CODES section of `--help` and
/// `pipeline_executor exit-codes [--json]`.
pub const EXIT_CODES: [ExitCodeEntry; 5] = [SUCCESS, USAGE, MANIFEST, NODE, INPUTS];

impl ErrorKind {
    /// This kind's row of [`EXIT_CODES`].
    pub fn exit_entry(self) -> &'static ExitCodeEntry {
        match self {
            ErrorKind::Usage | ErrorKind::Io => &USAGE,
            ErrorKind::Manifest => &MANIFEST,
            ErrorKind::Node => &NODE,
            ErrorKind::Inputs => &INPUTS,
        }
    }

    /// Process exit code for this kind of error.
    pub fn exit_code(self) -> i32 {
        self.exit_entry().code
    }
}

/// A runtime error: a kind (which decides the exit code) and a message for
/// humans. The message never contains host-specific details that the user
/// did not supply (no pointers, no OS error numbers), so it is identical on
/// every target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Usage, message)
    }
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Io, message)
    }
    pub fn manifest(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Manifest, message)
    }
    pub fn node(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Node, message)
    }
    pub fn inputs(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Inputs, message)
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Describe an I/O error without the OS error number: errno values differ
/// between Linux and WASI (ENOENT is 2 vs 44), and messages must not.
pub fn describe_io_error(err: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match err.kind() {
        K::NotFound => "file not found".to_string(),
        K::PermissionDenied => "permission denied".to_string(),
        K::IsADirectory => "is a directory".to_string(),
        K::InvalidData => "file is not valid UTF-8".to_string(),
        K::UnexpectedEof => "unexpected end of file".to_string(),
        K::BrokenPipe => "broken pipe".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_code_table() {
        let codes: Vec<i32> = EXIT_CODES.iter().map(|e| e.code).collect();
        assert_eq!(codes, [0, 1, 2, 3, 4]);
        let kinds = [
            ErrorKind::Usage,
            ErrorKind::Io,
            ErrorKind::Manifest,
            ErrorKind::Node,
            ErrorKind::Inputs,
        ];
        for kind in kinds {
            assert!(EXIT_CODES.contains(kind.exit_entry()), "{kind:?}");
        }
        let names: Vec<&str> = kinds.iter().map(|k| k.exit_entry().kind).collect();
        assert_eq!(names, ["usage", "usage", "manifest", "node", "inputs"]);
        assert_eq!(Error::inputs("x").exit_code(), 4);
    }
}
