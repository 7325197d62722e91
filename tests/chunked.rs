//! A body sent in one-byte chunks, as a server that flushes every byte sends it: every
//! client decodes it whole, and the thumbnails are the same as from a folder. (That the
//! hand-built loop decodes it in linear time is checked by counting the bytes its
//! decoder looks at, in `patterns::event_loop::http`'s unit tests.)

mod common;

use std::io::{BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::thread;

use common::{TestCorpus, run_chapter};

/// A server on loopback that answers every request with `body` in one-byte chunks.
fn chunking_server(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let body = body.clone();
            thread::spawn(move || answer_in_chunks(stream, &body));
        }
    });
    format!("http://{address}/photo.jpg")
}

fn answer_in_chunks(mut stream: TcpStream, body: &[u8]) {
    if common::read_request_head(&mut stream).is_none() {
        return;
    }
    let mut out = BufWriter::new(stream);
    let head = "HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nTransfer-Encoding: chunked\r\n\r\n";
    let mut sent = out.write_all(head.as_bytes());
    for byte in body {
        sent = sent.and_then(|()| out.write_all(b"1\r\n"));
        sent = sent.and_then(|()| out.write_all(&[*byte, b'\r', b'\n']));
    }
    let _ = sent
        .and_then(|()| out.write_all(b"0\r\n\r\n"))
        .and_then(|()| out.flush());
}

#[test]
fn every_client_decodes_a_body_in_one_byte_chunks() {
    let photo = TestCorpus::first_jpeg();
    let folder = tempfile::tempdir().unwrap();
    std::fs::write(folder.path().join("photo.jpg"), &photo).unwrap();
    let from_folder = run_chapter("ch00-sequential", folder.path().to_str().unwrap(), &[]);
    assert_eq!(from_folder.code, 0, "{}", from_folder.stderr);

    let urls = folder.path().join("urls.txt");
    std::fs::write(&urls, format!("{}\n", chunking_server(photo))).unwrap();
    // One chapter per client: blocking threads, tokio, the hand-built loop.
    for chapter in ["ch00-sequential", "ch07-async", "ch08-event-loop"] {
        let run = run_chapter(chapter, urls.to_str().unwrap(), &[]);
        assert_eq!(run.code, 0, "{chapter}: {}\n{}", run.stdout, run.stderr);
        for width in [32, 64, 200] {
            let name = format!("photo_{width}.jpg");
            let expected = std::fs::read(from_folder.out().join(&name)).unwrap();
            let got = std::fs::read(run.out().join(&name)).unwrap();
            assert!(got == expected, "{chapter}: {name} differs");
        }
    }
}
