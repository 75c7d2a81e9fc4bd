//! `relay media upload` and `relay media download`: the connector's media
//! plane, 25 MiB either way.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use relay_core::calls::{HttpCallError, MEDIA_MAX_BYTES, check_upload_size, safe_file_name};
use relay_engine::http::read_capped;
use relay_tokio::http;

use crate::config::{RelayArgs, load_config};
use crate::exit::{Exit, call_failed, fail};

/// Media subcommands.
#[derive(Debug, Subcommand)]
pub enum MediaCommand {
    /// Upload a file (at most 25 MiB) and print the URL a send_media action
    /// names.
    Upload(UploadArgs),
    /// Download a media object (at most 25 MiB) to a file.
    Download(DownloadArgs),
}

/// `relay media upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Where the connector is and who the gateway is (the secret comes from
    /// GATEWAY_RELAY_SECRET).
    #[command(flatten)]
    relay: RelayArgs,
    /// The file to upload (1 byte to 25 MiB).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Its content type [default: guessed from the file name, else
    /// application/octet-stream].
    #[arg(long, value_name = "M")]
    mime: Option<String>,
    /// The file name the connector records [default: FILE's name].
    #[arg(long, value_name = "N")]
    filename: Option<String>,
}

/// `relay media download`.
#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// Where the connector is and who the gateway is (a connector media URL
    /// is fetched with the gateway's token; any other URL without one).
    #[command(flatten)]
    relay: RelayArgs,
    /// The object's URL (`{connector}/relay/media/{id}`, or any http(s) URL).
    #[arg(value_name = "URL")]
    url: String,
    /// Where to write it (`-`: stdout) [default: the name the server gives,
    /// in the current directory, never over an existing file].
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
}

/// Runs a media subcommand: exit 0 on success, 1 when the connector
/// refused or could not be reached, 2 on a configuration or input error.
pub async fn run(command: MediaCommand) -> Exit {
    match command {
        MediaCommand::Upload(args) => upload(args).await,
        MediaCommand::Download(args) => download(args).await,
    }
}

/// The configuration: credentials are needed only for the connector's own
/// media URLs, so their absence is reported by the call that needs them.
fn config(relay: &RelayArgs) -> Result<relay_core::config::RelayConfig, Exit> {
    let mut overrides = relay.overrides();
    overrides.push(("GATEWAY_RELAY_RS_ALLOW_UNAUTHENTICATED", Some("1".into())));
    load_config(&overrides)
}

async fn upload(args: UploadArgs) -> Exit {
    let config = match config(&args.relay) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let path = args.file.clone();
    // The size is checked before anything is read: a file over the cap is
    // refused at once, whatever its size.
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_file() => {
            if let Err(e) = check_upload_size(meta.len()) {
                return fail(Exit::Usage, format_args!("{}: {e}", path.display()));
            }
        }
        Ok(_) => {}
        Err(e) => {
            return fail(
                Exit::Usage,
                format_args!("cannot read {}: {e}", path.display()),
            );
        }
    }
    // Devices and pipes have no size: they are read through the cap.
    let read = tokio::task::spawn_blocking(move || read_capped(&path, MEDIA_MAX_BYTES)).await;
    let bytes = match read {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::InvalidData => {
            let e = HttpCallError::TooLarge {
                size: None,
                max: MEDIA_MAX_BYTES,
            };
            return fail(Exit::Usage, format_args!("{}: {e}", args.file.display()));
        }
        Ok(Err(e)) => {
            return fail(
                Exit::Usage,
                format_args!("cannot read {}: {e}", args.file.display()),
            );
        }
        Err(_) => return fail(Exit::Failed, "the read was cancelled"),
    };
    let filename = args.filename.clone().or_else(|| {
        args.file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
    });
    let size = bytes.len();
    let content_type = http::upload_content_type(args.mime.as_deref(), filename.as_deref());
    match http::upload_media(&config, bytes, Some(&content_type), filename.as_deref()).await {
        Ok(media) => {
            println!("{}", media.url);
            eprintln!(
                "uploaded {size} bytes ({content_type}) as media id {}",
                media.id
            );
            Exit::Ok
        }
        Err(e) => call_failed(&e),
    }
}

async fn download(args: DownloadArgs) -> Exit {
    let config = match config(&args.relay) {
        Ok(c) => c,
        Err(exit) => return exit,
    };
    let object = match http::download_media(&config, &args.url).await {
        Ok(object) => object,
        Err(e) => return call_failed(&e),
    };
    let size = object.bytes.len();
    let kind = object
        .content_type
        .clone()
        .unwrap_or_else(|| "no content type".to_owned());
    if args.out.as_deref() == Some(Path::new("-")) {
        let mut stdout = std::io::stdout().lock();
        return match stdout
            .write_all(&object.bytes)
            .and_then(|()| stdout.flush())
        {
            Ok(()) => Exit::Ok,
            Err(e) => fail(Exit::Failed, format_args!("writing to stdout failed: {e}")),
        };
    }
    let (path, create_new) = match &args.out {
        Some(path) => (path.clone(), false),
        None => (PathBuf::from(default_name(&args.url, &object)), true),
    };
    let bytes = object.bytes;
    let target = path.clone();
    let written =
        tokio::task::spawn_blocking(move || write_file(&target, &bytes, create_new)).await;
    match written {
        Ok(Ok(())) => {
            println!("{}", path.display());
            eprintln!("saved {size} bytes ({kind}) to {}", path.display());
            Exit::Ok
        }
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::AlreadyExists => fail(
            Exit::Failed,
            format_args!(
                "{} already exists; pass --out PATH to choose where to write",
                path.display()
            ),
        ),
        Ok(Err(e)) => fail(
            Exit::Failed,
            format_args!("could not write {}: {e}", path.display()),
        ),
        Err(_) => fail(Exit::Failed, "the write was cancelled"),
    }
}

/// The file name to save an object as: the server's (`Content-Disposition`),
/// else the URL's last segment, with an extension from the content type
/// when it has none; `media` when nothing usable is left.
fn default_name(url: &str, object: &relay_core::calls::MediaObject) -> String {
    if let Some(name) = &object.filename {
        return name.clone();
    }
    let last = url
        .split(['?', '#'])
        .next()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("");
    let name = safe_file_name(last).unwrap_or_else(|| "media".to_owned());
    let ext = object.content_type.as_deref().and_then(http::extension_for);
    match ext {
        Some(ext) if Path::new(&name).extension().is_none() => format!("{name}.{ext}"),
        _ => name,
    }
}

/// Writes `bytes` to `path` (`create_new`: never over an existing file).
fn write_file(path: &Path, bytes: &[u8], create_new: bool) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if create_new {
        options.create_new(true);
    } else {
        options.create(true).truncate(true);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
