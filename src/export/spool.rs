//! Records on disk while an export runs: fetched in whatever order the answers come, written
//! as they arrive (memory stays flat), read back in the order of their ids for the output.

use std::io::{BufWriter, Read, Seek, SeekFrom, Write};

use serde_json::Value;

pub struct Spool {
    file: BufWriter<std::fs::File>,
    path: tempfile::TempPath,
    /// (position in the id list, byte offset, length) of each record.
    index: Vec<(u32, u64, u32)>,
    written: u64,
}

impl Spool {
    pub fn new() -> std::io::Result<Spool> {
        let (file, path) = crate::scratch::file("export", ".jsonl")?.into_parts();
        Ok(Spool {
            file: BufWriter::new(file),
            path,
            index: Vec::new(),
            written: 0,
        })
    }

    pub fn push(&mut self, order: usize, record: &Value) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        self.file.write_all(&bytes)?;
        self.index
            .push((order as u32, self.written, bytes.len() as u32));
        self.written += bytes.len() as u64;
        Ok(())
    }

    /// Ends writing; the records can then be read any number of times.
    pub fn finish(mut self) -> std::io::Result<Records> {
        let held = self.file.into_inner().map_err(|e| e.into_error())?;
        self.index.sort_unstable_by_key(|(order, ..)| *order);
        Ok(Records {
            path: self.path,
            _held: held,
            index: self.index,
        })
    }
}

/// The spooled records, in id order.
pub struct Records {
    path: tempfile::TempPath,
    /// The handle that holds the scratch file's lock, so no other run sweeps it while it is read.
    _held: std::fs::File,
    index: Vec<(u32, u64, u32)>,
}

impl Records {
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Every record in id order.
    pub fn iter(&self) -> std::io::Result<impl Iterator<Item = std::io::Result<Value>> + '_> {
        let mut file = std::fs::File::open(&self.path)?;
        let mut buf = Vec::new();
        Ok(self.index.iter().map(move |(_, offset, len)| {
            file.seek(SeekFrom::Start(*offset))?;
            buf.resize(*len as usize, 0);
            file.read_exact(&mut buf)?;
            serde_json::from_slice(&buf).map_err(std::io::Error::other)
        }))
    }
}
