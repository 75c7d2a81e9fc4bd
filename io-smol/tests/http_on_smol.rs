//! The runtime-neutral HTTP calls on smol: a request runs on smol's blocking
//! pool and its status and body come back; a redirect to another port loses
//! the bearer token.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use relay_core::calls::{HttpMethod, HttpRequest};
use relay_smol::{SmolRuntime, http};

/// Answers one request per listener with `response`, and reports the
/// request's header lines.
fn one_shot_server(response: String) -> (u16, mpsc::Receiver<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            lines.push(line.trim_end().to_owned());
        }
        let mut stream = stream;
        stream.write_all(response.as_bytes()).unwrap();
        let _ = tx.send(lines);
    });
    (port, rx)
}

fn get(url: String) -> HttpRequest {
    HttpRequest {
        method: HttpMethod::Get,
        url,
        headers: vec![("Authorization".into(), "Bearer secret-token".into())],
        body: Vec::new(),
    }
}

#[test]
fn a_call_runs_on_smol_and_a_cross_port_redirect_drops_the_bearer() {
    let (target, target_seen) = one_shot_server(
        "HTTP/1.1 418 I'm a teapot\r\ncontent-length: 5\r\nconnection: close\r\n\r\nshort".into(),
    );
    let (origin, origin_seen) = one_shot_server(format!(
        "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{target}/elsewhere\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    ));
    let response = smol::block_on(http::execute(
        &SmolRuntime::default(),
        get(format!("http://127.0.0.1:{origin}/start")),
        &http::HttpOptions::default(),
    ))
    .expect("the call completes");
    assert_eq!(response.status, 418);
    assert_eq!(response.body, b"short");

    let has_bearer = |lines: &[String]| {
        lines
            .iter()
            .any(|l| l.to_ascii_lowercase().starts_with("authorization:"))
    };
    assert!(
        has_bearer(&origin_seen.recv().unwrap()),
        "the origin gets the bearer"
    );
    assert!(
        !has_bearer(&target_seen.recv().unwrap()),
        "another port never gets the bearer"
    );
}
