//! Wake pokes: a payload-free, unsigned HTTP/1.1 GET to an instance's wake
//! URL (`http://` only).

use std::time::Duration;

use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::{Request, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Longest a poke may take, connect included.
const POKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends the poke and logs the outcome; true when it was answered (any
/// status). Only the host and path are logged: a wake URL's query may carry
/// a credential.
pub(crate) async fn send(instance: &str, url: &str) -> bool {
    match tokio::time::timeout(POKE_TIMEOUT, get(url)).await {
        Ok(Ok((status, target))) => {
            tracing::info!(%instance, %target, status, "wake poke answered");
            true
        }
        Ok(Err(error)) => {
            tracing::warn!(%instance, %error, "wake poke failed");
            false
        }
        Err(_) => {
            tracing::warn!(%instance, "wake poke timed out");
            false
        }
    }
}

/// GETs `url`; returns the status and `host/path` for the log.
async fn get(url: &str) -> Result<(u16, String), String> {
    let uri: Uri = url.parse().map_err(|_| "unparsable wake URL".to_owned())?;
    if uri.scheme_str() != Some("http") {
        return Err("only http:// wake URLs are supported".to_owned());
    }
    let authority = uri
        .authority()
        .ok_or_else(|| "wake URL has no host".to_owned())?
        .clone();
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    // A port written but not a u16 is an error, never port 80.
    let port = match (authority.port(), authority.port_u16()) {
        (None, _) => 80,
        (Some(_), Some(port)) => port,
        (Some(p), None) => return Err(format!("wake URL port {:?} is not a port", p.as_str())),
    };
    let path = uri.path().to_owned();
    let target = format!("{}{}", authority.host(), path);
    let stream = TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
    let request = Request::get(path_and_query)
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("request: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    Ok((response.status().as_u16(), target))
}
