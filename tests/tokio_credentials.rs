//! Credentials passing on the tokio stream (Linux): the sender's pid arrives with its bytes,
//! and receives dropped mid-wait lose nothing.
#![cfg(all(any(target_os = "linux", target_os = "android"), feature = "tokio"))]

mod util;

use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
use std::time::Duration;
use util::race::race;
use util::{namespaced, unique};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn pair(tag: &str) -> (LocalSocketStream, LocalSocketStream) {
    let name = namespaced(tag).unwrap_or_else(|| unique(tag));
    let listener = LocalSocketListener::bind(name.as_str()).unwrap();
    let client = LocalSocketStream::connect(name.as_str()).await.unwrap();
    let server = listener.accept().await.unwrap();
    (client, server)
}

#[test]
fn credentials_arrive_with_the_bytes() {
    runtime().block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            let (client, server) = pair("tcreds").await;
            let mut buf = [0u8; 8];
            // Reception off: bytes, no credentials.
            client.send_with_credentials(b"a").await.unwrap();
            let (n, creds) = server.recv_with_credentials(&mut buf).await.unwrap();
            assert_eq!((n, creds), (1, None));
            server.set_pass_credentials(true).unwrap();
            client.send_with_credentials(b"bc").await.unwrap();
            let (n, creds) = server.recv_with_credentials(&mut buf).await.unwrap();
            let creds = creds.expect("SO_PASSCRED is on");
            assert_eq!((n, creds.pid()), (2, Some(std::process::id())));
            // End of file.
            drop(client);
            let (n, _) = server.recv_with_credentials(&mut buf).await.unwrap();
            assert_eq!(n, 0);
        })
        .await
        .expect("bounded");
    });
}

/// 10,000 receives polled once or raced against a zero timer: whatever a dropped one did not
/// return is still there for the next.
#[test]
fn cancelled_receives_lose_nothing() {
    runtime().block_on(async {
        tokio::time::timeout(Duration::from_secs(20), async {
            let (client, server) = pair("tcreds-race").await;
            server.set_pass_credentials(true).unwrap();
            const ROUNDS: usize = 10_000;
            let (mut next_out, mut expect_in, mut dropped) = (0u8, 0u8, 0);
            let mut buf = [0u8; 16];
            for round in 0..ROUNDS {
                if round % 3 == 0 {
                    let chunk: Vec<u8> = (0..5).map(|i| next_out.wrapping_add(i)).collect();
                    let n = client.send_with_credentials(&chunk).await.unwrap();
                    next_out = next_out.wrapping_add(u8::try_from(n).unwrap());
                }
                match race(round, server.recv_with_credentials(&mut buf)).await {
                    Some(r) => {
                        let (n, creds) = r.unwrap();
                        assert_eq!(creds.and_then(|c| c.pid()), Some(std::process::id()));
                        for &x in &buf[..n] {
                            assert_eq!(x, expect_in, "a byte lost or duplicated");
                            expect_in = expect_in.wrapping_add(1);
                        }
                    }
                    None => dropped += 1,
                }
            }
            eprintln!("{dropped} of {ROUNDS} receives dropped");
            assert!(dropped > 0, "the race must drop some receives");
            drop(client);
            loop {
                let (n, _) = server.recv_with_credentials(&mut buf).await.unwrap();
                if n == 0 {
                    break;
                }
                for &x in &buf[..n] {
                    assert_eq!(x, expect_in);
                    expect_in = expect_in.wrapping_add(1);
                }
            }
            assert_eq!(expect_in, next_out);
        })
        .await
        .expect("bounded");
    });
}
