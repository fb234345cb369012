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
/// their extension, `.incl` files where an `INCLUDE` names them (other files are noted and
/// skipped). Each datasource and pipe is named after its file, as in Tinybird.
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
    let mut pipe_files: Vec<(&str, String)> = Vec::new();
    let includes: HashMap<&str, &str> = files
        .iter()
        .filter(|(path, _)| path.ends_with(".incl"))
        .map(|(path, text)| (path.as_str(), text.as_str()))
        .collect();
    // Lines of a file with its includes written in, mapped back to the file's own lines.
    let mut line_maps: HashMap<&str, Vec<usize>> = HashMap::new();
    let push_err = |p: &mut Project, file: &str, line: usize, message: String| {
        p.errors.push(FileMessage {
            file: file.to_string(),
            line,
            message,
        })
    };
    for (path, text) in files {
        let name = file_stem(path).to_string();
        if path.ends_with(".incl") {
            continue;
        }
        let text = if path.ends_with(".pipe") || path.ends_with(".datasource") {
            let (expanded, map, notes) = expand_includes(path, text, &includes);
            p.notes.extend(notes);
            if let Some(map) = map {
                line_maps.insert(path, map);
            }
            expanded
        } else {
            text.clone()
        };
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
        let loaded = parse_datasource_file(&text).and_then(|f| {
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
    for (path, text) in &pipe_files {
        let path: &str = path;
        let name = file_stem(path);
        if !pipe_names.insert(name.to_string()) {
            push_err(&mut p, path, 1, format!("another pipe is named '{name}'"));
            continue;
        }
        let pipe = match parse_pipe(Some(name), text) {
            Ok(pipe) => pipe,
            Err(e) => {
                push_err(&mut p, path, line_of(&e), message_of(&e));
                continue;
            }
        };
        if let Err(e) = check_pipe(&pipe) {
            // Copy and sink pipes are described, never run: SQL this store cannot run
            // (a table function such as `generateRandom()`) is noted, not refused.
            if matches!(pipe.kind, PipeKind::Copy { .. } | PipeKind::Sink) {
                p.notes.push(FileMessage {
                    file: path.to_string(),
                    line: line_of(&e),
                    message: format!(
                        "{} (the {} pipe is not run here)",
                        message_of(&e),
                        pipe.kind.name()
                    ),
                });
            } else {
                push_err(&mut p, path, line_of(&e), message_of(&e));
                continue;
            }
        }
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
    for m in p.errors.iter_mut().chain(p.notes.iter_mut()) {
        if let Some(map) = line_maps.get(m.file.as_str()) {
            m.line = map.get(m.line.wrapping_sub(1)).copied().unwrap_or(m.line);
        }
    }
    p
}

/// Most `INCLUDE`s one file may expand, nested ones counted.
const MAX_INCLUDES: usize = 64;

/// Most levels of includes inside includes.
const MAX_INCLUDE_DEPTH: usize = 8;

/// `path` joined to `rel` as a project path: `datasources/x.datasource` and
/// `../includes/k.incl` give `includes/k.incl` (`None` when it climbs out of the project).
fn join_path(path: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    Some(parts.join("/"))
}

/// `$name` and `${name}` of `text` replaced by the values `vars` has for them, others kept,
/// as Python's `Template.safe_substitute` (which Tinybird runs on an included file) does.
fn substitute(text: &str, vars: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, len) = if let Some(inner) = after.strip_prefix('{') {
            match inner.find('}') {
                Some(end) => (&inner[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match vars.iter().find(|(k, _)| k == name) {
            Some((_, v)) if !name.is_empty() => {
                out.push_str(v);
                rest = &after[len..];
            }
            _ => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The include file an `INCLUDE` names: its project path, when the project has it. A name
/// with a variable left (`kafka_$TB_ENV.incl`: the environment is not known here) takes the
/// first of the project's files it could name, in path order, and says so.
fn find_include<'a>(
    path: &str,
    name: &str,
    includes: &HashMap<&'a str, &'a str>,
) -> Option<(&'a str, Option<String>)> {
    let target = join_path(path, name)?;
    if let Some((k, _)) = includes.get_key_value(target.as_str()) {
        return Some((k, None));
    }
    let at = target.find('$')?;
    let (prefix, tail) = target.split_at(at);
    let tail = tail[1..]
        .trim_start_matches('{')
        .trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '_')
        .trim_start_matches('}');
    if tail.contains('$') {
        return None;
    }
    let mut found: Vec<&str> = includes
        .keys()
        .copied()
        .filter(|k| {
            k.len() >= prefix.len() + tail.len()
                && k.starts_with(prefix)
                && k.ends_with(tail)
                && !k[prefix.len()..k.len() - tail.len()].contains('/')
        })
        .collect();
    found.sort_unstable();
    let first = *found.first()?;
    let note = format!(
        "INCLUDE {name}: the variable is not known here; {first} is used (of {} file{} it could name)",
        found.len(),
        if found.len() == 1 { "" } else { "s" }
    );
    Some((first, Some(note)))
}

/// The text of the file at `path` with its `INCLUDE "file.incl" ["NAME=value" …]` lines
/// replaced by the included files (a blank line, then the file with `$NAME` set), as Tinybird
/// does; the map from each line of the result to the file's own line (`None` when there was
/// nothing to include); and notes on the includes. An include the project lacks is left as
/// it is (the file's reader notes or refuses it).
fn expand_includes(
    path: &str,
    text: &str,
    includes: &HashMap<&str, &str>,
) -> (String, Option<Vec<usize>>, Vec<FileMessage>) {
    // A command line (not indented, so not inside a block) `INCLUDE …`.
    let is_include = |l: &str| {
        l.get(..8).is_some_and(|w| {
            w.eq_ignore_ascii_case("INCLUDE ") || w.eq_ignore_ascii_case("INCLUDE\t")
        })
    };
    if !text.lines().any(is_include) || includes.is_empty() {
        return (text.to_string(), None, Vec::new());
    }
    let mut notes = Vec::new();
    let mut budget = MAX_INCLUDES;
    // (text of the line, the file's own line)
    let mut lines: Vec<(String, usize)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (l.to_string(), i + 1))
        .collect();
    for _ in 0..MAX_INCLUDE_DEPTH {
        let mut out: Vec<(String, usize)> = Vec::with_capacity(lines.len());
        let mut changed = false;
        for (line, own) in lines {
            if !is_include(&line) || budget == 0 {
                out.push((line, own));
                continue;
            }
            let args = crate::schema::file::words(line.trim(), own).unwrap_or_default();
            let unq = |a: &str| crate::schema::file::unquote(a).to_string();
            let Some(name) = args.get(1).map(|a| unq(a)) else {
                out.push((line, own));
                continue;
            };
            let Some((found, note)) = find_include(path, &name, includes) else {
                out.push((line, own));
                continue;
            };
            budget -= 1;
            changed = true;
            if let Some(message) = note {
                notes.push(FileMessage {
                    file: path.to_string(),
                    line: own,
                    message,
                });
            }
            let vars: Vec<(String, String)> = args[2..]
                .iter()
                .filter_map(|a| {
                    unq(a)
                        .split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect();
            let body = substitute(includes.get(found).copied().unwrap_or(""), &vars);
            out.push((String::new(), own));
            out.extend(body.lines().map(|l| (l.to_string(), own)));
        }
        lines = out;
        if !changed {
            break;
        }
    }
    let map = lines.iter().map(|(_, own)| *own).collect();
    let mut expanded = String::new();
    for (l, _) in &lines {
        expanded.push_str(l);
        expanded.push('\n');
    }
    (expanded, Some(map), notes)
}

/// Reads the `.datasource`, `.pipe` and `.incl` files under `dir` (every level, hidden folders left
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
                .is_some_and(|e| e == "datasource" || e == "pipe" || e == "incl")
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
