//! The crate's one error type.

use std::fmt;

/// Every failure this crate reports: a boxed [`ErrorKind`] so `Result<T, Error>` stays one word wide.
#[derive(Debug, Clone, PartialEq)]
pub struct Error(Box<ErrorKind>);

/// What went wrong, with the position it went wrong at where there is one.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A `.datasource` file could not be read; `line` is 1-based.
    Datasource {
        /// 1-based line of the file.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// A `.pipe` file could not be read; `line` is 1-based.
    Pipe {
        /// 1-based line of the file.
        line: usize,
        /// What is wrong there.
        message: String,
    },
    /// A query is malformed, refers to something that does not exist, or was given a bad parameter.
    Query(String),
    /// The query uses SQL outside the supported subset.
    Unsupported(String),
    /// A pipe of that name is not loaded.
    UnknownPipe(String),
    /// The store reached its memory budget; nothing after `line` of `stream` was stored.
    StoreFull {
        /// Rows stored in all.
        rows: u64,
        /// Bytes of column memory in use.
        bytes: u64,
        /// 1-based line of the stream whose row did not fit.
        line: u64,
        /// Name of the stream being written.
        stream: String,
    },
    /// The handle was used in a way its state does not allow.
    Misuse(String),
    /// A store file could not be reopened: it is damaged, truncated, of another version, or
    /// holds more than the budget allows.
    StoreFile {
        /// Byte of the file where reading stopped.
        offset: u64,
        /// What is wrong there.
        message: String,
    },
}

impl Error {
    /// Builds an error from its kind.
    pub fn new(kind: ErrorKind) -> Self {
        Error(Box::new(kind))
    }

    /// The kind of this error.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Shorthand for an [`ErrorKind::Query`] error.
    pub fn query(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Query(message.into()))
    }

    /// Shorthand for an [`ErrorKind::Unsupported`] error.
    pub fn unsupported(what: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported(what.into()))
    }

    /// Shorthand for an [`ErrorKind::Misuse`] error.
    pub fn misuse(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Misuse(message.into()))
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.0 {
            ErrorKind::Datasource { line, message } => {
                write!(f, "datasource line {line}: {message}")
            }
            ErrorKind::Pipe { line, message } => write!(f, "pipe line {line}: {message}"),
            ErrorKind::Query(m) => write!(f, "{m}"),
            ErrorKind::Unsupported(what) => write!(f, "not supported: {what}"),
            ErrorKind::UnknownPipe(name) => write!(f, "there is no pipe named '{name}'"),
            ErrorKind::StoreFull {
                rows,
                bytes,
                line,
                stream,
            } => write!(
                f,
                "store is full at {rows} rows / {bytes} bytes; the rows before line {line} of {stream} are stored"
            ),
            ErrorKind::Misuse(m) => write!(f, "{m}"),
            ErrorKind::StoreFile { offset, message } => {
                write!(f, "store file, byte {offset}: {message}")
            }
        }
    }
}

impl std::error::Error for Error {}

/// `Result` with this crate's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
