//! A Tinybird project: several `.datasource` and `.pipe` files read together, each file that
//! has a problem listed with its line while every other file still loads.

use crate::error::ErrorKind;
use crate::query::{check_pipe, lexer, Pipe, PipeKind};
use crate::schema::{parse_datasource_file, Datasource};
use crate::{parse_pipe, Error};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Most files one project may hold.
pub const MAX_PROJECT_FILES: usize = 10_000;

/// A problem or a note about one file of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileMessage {
    /// The file's path as given.
    pub file: String,
    /// 1-based line of the file (1 when the problem is the file as a whole).
    pub line: usize,
    /// What is wrong, or what was read but has no effect.
    pub message: String,
}

/// The files of a project, read.
#[derive(Debug, Clone)]
pub struct Project {
    /// Datasources that load, named after their files, in file order.
    pub datasources: Vec<Datasource>,
    /// Pipes that load, named after their files, in file order.
    pub pipes: Vec<Pipe>,
    /// Files, or parts of files, that failed, each with its line; a pipe that reads a
    /// datasource that failed is listed too.
    pub errors: Vec<FileMessage>,
    /// What was read but is not run here: tokens, forward queries, connectors, materialized
    /// and copy pipes, files of other kinds.
    pub notes: Vec<FileMessage>,
}

/// The file name without folders and extension: `endpoints/llm_usage.pipe` is `llm_usage`.
pub fn file_stem(path: &str) -> &str {
    let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
    base.rsplit_once('.').map_or(base, |(stem, _)| stem)
}

fn line_of(e: &Error) -> usize {
    match e.kind() {
        ErrorKind::Datasource { line, .. } | ErrorKind::Pipe { line, .. } => *line,
        _ => 1,
    }
}

fn message_of(e: &Error) -> String {
    match e.kind() {
        ErrorKind::Datasource { message, .. } | ErrorKind::Pipe { message, .. } => message.clone(),
        _ => e.to_string(),
    }
}

/// Reads every file of a project: `(path, text)` pairs, `.datasource` and `.pipe` files by
/// their extension (other files are noted and skipped). Each datasource and pipe is named
/// after its file, as in Tinybird.
///
/// ```
/// let p = llm_metrics::load_project(&[
///     ("datasources/calls.datasource".into(), "SCHEMA >\n    `t` DateTime,\n    `m` String\n".into()),
///     ("datasources/turns.datasource".into(), "SCHEMA >\n    `t` DateTime,\n    `x` Tuple(String, UInt8)\n".into()),
///     ("endpoints/per_model.pipe".into(), "NODE n\nSQL >\n    SELECT m, count() AS c FROM calls GROUP BY m\n\nTYPE endpoint\n".into()),
/// ]);
/// assert_eq!(p.datasources.len(), 1);
/// assert_eq!(p.pipes[0].name, "per_model");
/// assert_eq!(p.errors[0].file, "datasources/turns.datasource");
/// assert_eq!(p.errors[0].line, 3);
/// ```
pub fn load_project(files: &[(String, String)]) -> Project {
    let mut p = Project {
        datasources: Vec::new(),
        pipes: Vec::new(),
        errors: Vec::new(),
        notes: Vec::new(),
    };
    if files.len() > MAX_PROJECT_FILES {
        p.errors.push(FileMessage {
            file: String::new(),
            line: 1,
            message: format!(
                "a project has at most {MAX_PROJECT_FILES} files; {} were given",
                files.len()
            ),
        });
        return p;
    }
    let mut failed: HashMap<String, String> = HashMap::new();
    let mut names: HashSet<String> = HashSet::new();
    let mut pipe_files: Vec<(&str, &str)> = Vec::new();
    let push_err = |p: &mut Project, file: &str, line: usize, message: String| {
        p.errors.push(FileMessage {
            file: file.to_string(),
            line,
            message,
        })
    };
    for (path, text) in files {
        let name = file_stem(path).to_string();
        if path.ends_with(".pipe") {
            pipe_files.push((path, text));
            continue;
        }
        if !path.ends_with(".datasource") {
            p.notes.push(FileMessage {
                file: path.clone(),
                line: 1,
                message: "not a .datasource or .pipe file: skipped".to_string(),
            });
            continue;
        }
        if !names.insert(name.clone()) {
            push_err(
                &mut p,
                path,
                1,
                format!("another datasource is named '{name}'"),
            );
            continue;
        }
        let loaded = parse_datasource_file(text).and_then(|f| {
            for n in &f.notes {
                p.notes.push(FileMessage {
                    file: path.clone(),
                    line: n.line,
                    message: n.message.clone(),
                });
            }
            Datasource::from_file(&name, &f)
        });
        match loaded {
            Ok(ds) => p.datasources.push(ds),
            Err(e) => {
                push_err(&mut p, path, line_of(&e), message_of(&e));
                failed.insert(name, path.clone());
            }
        }
    }
    let mut pipe_names: HashSet<String> = HashSet::new();
    for (path, text) in pipe_files {
        let name = file_stem(path);
        if !pipe_names.insert(name.to_string()) {
            push_err(&mut p, path, 1, format!("another pipe is named '{name}'"));
            continue;
        }
        let pipe = match parse_pipe(Some(name), text).and_then(|pipe| {
            check_pipe(&pipe)?;
            Ok(pipe)
        }) {
            Ok(pipe) => pipe,
            Err(e) => {
                push_err(&mut p, path, line_of(&e), message_of(&e));
                continue;
            }
        };
        // A pipe reading (or writing into) a datasource that failed cannot run either.
        let mut broken = None;
        for node in &pipe.nodes {
            let mut toks = Vec::new();
            // Templates are checked above; their text is scanned as SQL where it lexes.
            let _ = lexer::lex(
                &node.sql.replace(['{', '}', '%'], " "),
                node.sql_line,
                &mut toks,
            );
            if let Some(t) = toks.iter().find(|t| match &t.tok {
                lexer::Tok::Word(w) | lexer::Tok::Quoted(w) => failed.contains_key(w),
                _ => false,
            }) {
                let table = match &t.tok {
                    lexer::Tok::Word(w) | lexer::Tok::Quoted(w) => w.clone(),
                    _ => String::new(),
                };
                broken = Some((t.line, table));
                break;
            }
        }
        let target = match &pipe.kind {
            PipeKind::Materialized { datasource } => Some(datasource.clone()),
            PipeKind::Copy {
                target_datasource, ..
            } => Some(target_datasource.clone()),
            _ => None,
        };
        if broken.is_none() {
            if let Some(t) = target.as_ref().filter(|t| failed.contains_key(*t)) {
                broken = Some((1, t.clone()));
            }
        }
        if let Some((line, table)) = broken {
            let file = failed.get(&table).cloned().unwrap_or_default();
            push_err(
                &mut p,
                path,
                line,
                format!("depends on datasource '{table}', which failed to load ({file})"),
            );
            continue;
        }
        match &pipe.kind {
            PipeKind::Endpoint | PipeKind::Standard => {}
            // Run on every write into a datasource it reads, when its target is one.
            PipeKind::Materialized { datasource }
                if p.datasources.iter().any(|d| d.name == *datasource) => {}
            PipeKind::Materialized { datasource } => p.notes.push(FileMessage {
                file: path.to_string(),
                line: 1,
                message: format!(
                    "a materialized pipe into '{datasource}', which is not a datasource of the project: read and described, not run"
                ),
            }),
            kind => p.notes.push(FileMessage {
                file: path.to_string(),
                line: 1,
                message: format!(
                    "a {} pipe{}: read and described, not run",
                    kind.name(),
                    target.map(|t| format!(" into '{t}'")).unwrap_or_default()
                ),
            }),
        }
        for node in &pipe.nodes {
            if let Some((key, _)) = node.settings.iter().find(|(k, _)| k.starts_with("engine")) {
                p.notes.push(FileMessage {
                    file: path.to_string(),
                    line: 1,
                    message: format!(
                        "{} in node '{}' is read but not applied: the target datasource's own file gives its engine",
                        key.to_ascii_uppercase(),
                        node.name
                    ),
                });
            }
        }
        for (token, _) in &pipe.tokens {
            p.notes.push(FileMessage {
                file: path.to_string(),
                line: 1,
                message: format!(
                    "TOKEN '{token}' is read but not used: the store has no access control"
                ),
            });
        }
        p.pipes.push(pipe);
    }
    p
}

/// Reads the `.datasource` and `.pipe` files under `dir` (every level, hidden folders left
/// out) as a project, paths relative to `dir`. (In a browser there is no file system: pass the
/// files' texts to [`load_project`] instead.)
pub fn read_project_dir(dir: &std::path::Path) -> crate::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| Error::misuse(format!("cannot read {}: {e}", d.display())))?;
        let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        paths.sort();
        for path in paths {
            if path.is_dir() {
                if path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                {
                    continue;
                }
                stack.push(path);
            } else if path
                .extension()
                .is_some_and(|e| e == "datasource" || e == "pipe")
            {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| Error::misuse(format!("cannot read {}: {e}", path.display())))?;
                let rel = path.strip_prefix(dir).unwrap_or(&path);
                out.push((rel.to_string_lossy().replace('\\', "/"), text));
            }
            if out.len() > MAX_PROJECT_FILES {
                return Err(Error::misuse(format!(
                    "{} holds more than {MAX_PROJECT_FILES} project files",
                    dir.display()
                )));
            }
        }
    }
    out.sort();
    Ok(out)
}
