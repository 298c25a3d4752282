//! The length-prefixed message framing decoder (the macOS/FreeBSD message sockets), fed
//! arbitrary bytes by a raw stream peer. Build with
//! `RUSTFLAGS="--cfg localipc_framed_messages"` so Linux uses the framing too.
//! The first input byte picks the receiver's limit (the 16 MiB default, or 300 bytes).
//! Checks: no panic, no huge allocation, each decoded message matches its frame exactly,
//! and once decoding fails (oversized or cut frame) every later receive returns that same
//! error (kind and message) instead of decoding what follows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use localipc::local_socket::message::{MessageListener, DEFAULT_MAX_MESSAGE_SIZE};
use std::io::Write;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::UnixStream;
use std::sync::OnceLock;

const SMALL: usize = 300;

fn listener(max: usize) -> &'static (MessageListener, String) {
    static L: [OnceLock<(MessageListener, String)>; 2] = [OnceLock::new(), OnceLock::new()];
    L[usize::from(max == SMALL)].get_or_init(|| {
        let name = format!("@localipc-fuzz-frames-{}-{max}", std::process::id());
        let listener = MessageListener::bind(name.as_str()).unwrap();
        listener.set_max_message_size(max);
        (listener, name)
    })
}

fuzz_target!(|input: &[u8]| {
    let Some((&pick, data)) = input.split_first() else {
        return;
    };
    let max = if pick & 1 == 0 {
        DEFAULT_MAX_MESSAGE_SIZE
    } else {
        SMALL
    };
    let (l, name) = listener(max);
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
        if len > max || rest.len() - 4 < len {
            break;
        }
        expect.push(&rest[4..4 + len]);
        rest = &rest[4 + len..];
    }
    for want in &expect {
        let got = server.recv_vec().unwrap().expect("a whole frame was there");
        assert_eq!(&got[..], *want);
    }
    // Then: end of stream if nothing is left, else an error for the cut or oversized frame,
    // and that same error from then on.
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
        Err(first) => {
            assert!(!rest.is_empty(), "error with nothing left: {first}");
            let oversized = u32::from_le_bytes([rest, &[0; 4]].concat()[..4].try_into().unwrap())
                as usize
                > max
                && rest.len() >= 4;
            let want_kind = if oversized {
                std::io::ErrorKind::InvalidData
            } else {
                std::io::ErrorKind::UnexpectedEof
            };
            assert_eq!(first.kind(), want_kind, "{first}");
            for _ in 0..3 {
                let e = server.recv_vec().unwrap_err();
                assert_eq!((e.kind(), e.to_string()), (first.kind(), first.to_string()));
                let e = server.recv(&mut [0; 8]).unwrap_err();
                assert_eq!((e.kind(), e.to_string()), (first.kind(), first.to_string()));
            }
        }
    }
});
