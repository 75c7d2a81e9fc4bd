//! The env file the credentials are persisted in, written atomically.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use relay_core::calls::render_env_file;

/// Largest env file [`write_env_file`] reads before merging (1 MiB); a
/// longer one, or a device or pipe that never ends, is refused.
pub const MAX_ENV_FILE_BYTES: u64 = 1024 * 1024;

/// Reads at most `max` bytes of `path`: a file (or device, or pipe) with more
/// is refused with `InvalidData`, whatever its metadata says. Memory stays
/// bounded by `max` even for `/dev/zero`.
pub fn read_capped(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    use std::io::Read as _;
    let file = fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("it holds more than {max} bytes; is it the right file?"),
        ));
    }
    Ok(bytes)
}

/// Why [`write_env_file`] failed. The file is left as it was.
#[derive(Debug, thiserror::Error)]
#[error("could not {action} the env file {}: {source}; check the directory exists and is writable", path.display())]
pub struct EnvFileError {
    /// The file concerned.
    pub path: PathBuf,
    /// What was being done (`read`, `write`, `replace`, ...).
    pub action: &'static str,
    /// The I/O error.
    #[source]
    pub source: io::Error,
}

/// The env file the reference writes: `$HERMES_HOME/.env`, else
/// `~/.hermes/.env`. `None` when neither variable says where home is.
pub fn default_env_file() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(home) = non_empty("HERMES_HOME") {
        return Some(PathBuf::from(home).join(".env"));
    }
    non_empty("HOME")
        .or_else(|| non_empty("USERPROFILE"))
        .map(|home| PathBuf::from(home).join(".hermes").join(".env"))
}

/// Writes `vars` into the env file at `path` (blocking):
/// [`render_env_file`] merges them into the existing content (unrelated
/// lines kept in order), and the result replaces the file atomically: a
/// temporary file in the same directory, created with mode 0600, written,
/// synced, then renamed over `path`. The parent directory is created
/// (mode 0700) when missing.
pub fn write_env_file(path: &Path, vars: &[(&str, String)]) -> Result<(), EnvFileError> {
    let err = |action: &'static str| {
        move |source: io::Error| EnvFileError {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let existing = match read_capped(path, MAX_ENV_FILE_BYTES) {
        Ok(bytes) => String::from_utf8(bytes).map_err(|_| {
            err("read")(io::Error::new(
                io::ErrorKind::InvalidData,
                "the file is not UTF-8; fix or move it",
            ))
        })?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(err("read")(e)),
    };
    let rendered = render_env_file(&existing, vars);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        create_private_dir(&dir).map_err(err("create the directory of"))?;
    }
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| {
            err("write")(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the path names no file",
            ))
        })?;
    let (tmp_path, mut file) =
        create_temp(&dir, &file_name).map_err(err("create a temporary file next to"))?;
    let written = file
        .write_all(rendered.as_bytes())
        .and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp_path);
        return Err(err("write")(e));
    }
    if let Err(e) = fs::rename(&tmp_path, path) {
        let _ = fs::remove_file(&tmp_path);
        return Err(err("replace")(e));
    }
    // Make the rename durable (best effort: not every platform can open a
    // directory).
    if let Ok(d) = fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Creates a new temporary file `.<name>.tmp-<pid>-<n>` in `dir` with mode
/// 0600 (never opening an existing file).
fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, fs::File)> {
    let pid = std::process::id();
    let mut last = None;
    for n in 0..100u32 {
        let candidate = dir.join(format!(".{name}.tmp-{pid}-{n}"));
        let mut open = fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            open.mode(0o600);
        }
        match open.open(&candidate) {
            Ok(file) => return Ok((candidate, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary file name")))
}

fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}
