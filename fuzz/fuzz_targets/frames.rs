//! The length-prefixed message framing decoder (the macOS/FreeBSD message sockets), fed
//! arbitrary bytes by a raw stream peer. Build with
//! `RUSTFLAGS="--cfg localipc_framed_messages"` so Linux uses the framing too.
//! Checks: no panic, no huge allocation, each decoded message matches its frame exactly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use localipc::local_socket::message::MessageListener;
use std::io::Write;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;

fn listener() -> &'static (MessageListener, String) {
    static L: OnceLock<(MessageListener, String)> = OnceLock::new();
    L.get_or_init(|| {
        let name = format!("@localipc-fuzz-frames-{}", std::process::id());
        (MessageListener::bind(name.as_str()).unwrap(), name)
    })
}

fuzz_target!(|data: &[u8]| {
    let (l, name) = listener();
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name.as_bytes()[1..]).unwrap();
    let mut raw = UnixStream::connect_addr(&addr).unwrap();
    let server = l.accept().unwrap();
    raw.write_all(data).unwrap();
    drop(raw);
    // The frames the input holds, by the documented format.
    let mut expect = Vec::new();
    let mut rest = data;
    while rest.len() >= 4 {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        if len > 16 << 20 || rest.len() - 4 < len {
            break;
        }
        expect.push(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    for want in &expect {
        let got = server.recv_vec().unwrap().expect("a whole frame was there");
        assert_eq!(&got[..], *want);
    }
    // Then: end of stream if nothing is left, else an error for the cut or oversized frame.
    match server.recv_vec() {
        Ok(None) => assert!(
            rest.is_empty(),
            "{} trailing bytes were ignored",
            rest.len()
        ),
        Ok(Some(m)) => panic!(
            "decoded a message ({} bytes) the input does not hold",
            m.len()
        ),
        Err(e) => assert!(!rest.is_empty(), "error with nothing left: {e}"),
    }
});
