//! A stream read in parts: each part (a range of whole lines) decoded by a store of its own,
//! in parallel, then appended in order to the store that answers queries, which then holds
//! exactly what it would hold had it read the whole stream itself.

use super::StoreFileReader;
use crate::error::{Error, ErrorKind, Result};
use crate::{EventStore, Options, DEFAULT_MAX_LINE_BYTES};

impl EventStore {
    /// Appends the rows and quarantined lines of `shard`, a store of the same datasource that
    /// read a later part of a stream (starting `lines_before` lines into it, at a line
    /// boundary), after this store's: the rows join the same partitions, blocks and
    /// dictionaries as if this store had read that part itself (see
    /// [`crate::Store::append_store`]), and the quarantined lines keep their place with their
    /// line numbers counted from the start of the whole stream.
    ///
    /// Only a part whose lines are each read on their own can be read apart: the append is
    /// refused (`not supported`) when `shard` holds records repeated over lines (Claude Code
    /// sessions, streamed chunks), when this store has materialized pipes reading the
    /// datasource, and for projects of several datasources; it fails, appending nothing, for
    /// a shard of another schema, a shard whose stream is still open, or one that does not
    /// fit in this store's budget beside its rows.
    ///
    /// ```
    /// use llm_metrics::{EventStore, Params};
    /// let whole = b"{\"event_time\":\"2024-05-01 10:00:00\",\"model_name\":\"a\"}\nnot json\n\
    ///     {\"event_time\":\"2024-04-01 10:00:00\",\"model_name\":\"b\"}\n{\"oops\n";
    /// let split = whole.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
    /// let mut first = EventStore::new();
    /// first.begin("f.ndjson")?;
    /// first.write(&whole[..split])?;
    /// first.end()?;
    /// let mut second = EventStore::new();
    /// second.begin("f.ndjson")?;
    /// second.write(&whole[split..])?;
    /// second.end()?;
    /// first.append_shard(&second, 1)?;
    /// let mut one = EventStore::new();
    /// one.begin("f.ndjson")?;
    /// one.write(whole)?;
    /// one.end()?;
    /// let q = "SELECT * FROM llm_events";
    /// assert_eq!(first.sql(q, &Params::new())?.data, one.sql(q, &Params::new())?.data);
    /// assert_eq!(first.quarantine().rows(), one.quarantine().rows());
    /// assert_eq!(first.quarantine().rows()[1].line, 4);
    /// # Ok::<(), llm_metrics::Error>(())
    /// ```
    pub fn append_shard(&mut self, shard: &EventStore, lines_before: u64) -> Result<()> {
        if !self.others.is_empty() || !shard.others.is_empty() {
            return Err(Error::unsupported(
                "reading a stream in parts into a project of several datasources",
            ));
        }
        if shard.store.datasource() != self.store.datasource() {
            return Err(Error::misuse(
                "the part was read with another datasource than this store's",
            ));
        }
        if shard.decoder.is_open() {
            return Err(Error::misuse(
                "the part's stream is still open: end() it first",
            ));
        }
        if !self.views_of(0).is_empty() {
            return Err(Error::unsupported(
                "reading a stream in parts into a datasource that materialized pipes read",
            ));
        }
        if shard.decoder.held_bytes() > 0 || !shard.decoder.saved_state().1.is_empty() {
            return Err(Error::unsupported(
                "reading a stream in parts when its records repeat over lines",
            ));
        }
        let full = |es: &EventStore| {
            Error::new(ErrorKind::StoreFull {
                rows: es.store.rows(),
                bytes: es.store.bytes(),
                line: lines_before.saturating_add(1),
                stream: shard.decoder.progress().stream.clone(),
            })
        };
        // The part is appended whole or not at all: it takes no more room here than in its own
        // store (its blocks and dictionaries, its quarantine).
        if self.store.bytes().saturating_add(shard.store.bytes()) > self.store.max_bytes() {
            return Err(full(self));
        }
        if self.store.append_store(&shard.store).is_err() {
            return Err(full(self));
        }
        self.quarantine
            .append(&shard.quarantine, lines_before, &mut self.store);
        Ok(())
    }

    /// Appends the rows and quarantined lines of the store in the bytes of a store file, a
    /// later part of a stream starting `lines_before` lines into it, as
    /// [`EventStore::append_shard`] does; the part's rows count against this store's budget
    /// beside its own while the file is read.
    pub fn append_store_file(&mut self, bytes: &[u8], lines_before: u64) -> Result<()> {
        let options = Options {
            max_bytes: self.store.max_bytes(),
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            result_limits: self.store.result_limits(),
        };
        let mut reader = StoreFileReader::new(options).held_beside(self.store.bytes());
        reader.write(bytes)?;
        let shard = reader.finish()?;
        self.append_shard(&shard, lines_before)
    }
}
