//! Async message sockets without tokio (feature `async-io`, issue 15 part 3): boundaries,
//! limits, end of stream, and receives cancelled thousands of times losing nothing.
#![cfg(feature = "async-io")]

mod util;

use futures_lite::future;
use localipc::local_socket::async_io::message::{MessageListener, MessageStream};
use std::io;
use util::{any_name, bounded, TestDir, LIMIT};

fn pair(name: &str) -> io::Result<(MessageListener, MessageStream, MessageStream)> {
    future::block_on(async {
        let listener = MessageListener::bind(name)?;
        let (s, c) = future::zip(listener.accept(), MessageStream::connect(name)).await;
        Ok((listener, s?, c?))
    })
}

/// Messages of every size keep their boundaries; an empty one is a message; end of stream
/// is `None`; the limits hold both ways; no tokio runtime is current.
#[test]
fn boundaries_limits_and_end() {
    bounded(LIMIT, || {
        let dir = TestDir::new("aio-msg");
        let name = any_name(&dir, "aio-msg");
        let (listener, server, client) = pair(&name).unwrap();
        assert_eq!(listener.local_name().to_string(), name);
        future::block_on(async {
            assert!(tokio::runtime::Handle::try_current().is_err());
            // (Linux: a message must fit the sender's SO_SNDBUF, 208 KiB by default.)
            let sizes = [0usize, 1, 100, 4096, 70_000, 150_000];
            let send = async {
                for (i, &n) in (0u8..).zip(sizes.iter()) {
                    client.send(&vec![i; n]).await?;
                }
                io::Result::Ok(())
            };
            let recv = async {
                for (i, &n) in (0u8..).zip(sizes.iter()) {
                    let m = server.recv_vec().await?.expect("a message");
                    assert_eq!(m, vec![i; n], "message {i}");
                }
                io::Result::Ok(())
            };
            future::try_zip(send, recv).await?;

            client.set_max_message_size(16);
            let err = client.send(&[0; 17]).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
            server.set_max_message_size(8);
            client.send(&[1; 9]).await?;
            let err = server.recv_vec().await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err}");
            assert_eq!(server.peer_creds()?.pid(), Some(std::process::id()));
            drop(client);
            // Framing: the stream is out of step after a message over the limit.
            if let Ok(end) = server.recv_vec().await {
                assert_eq!(end, None);
            }
            io::Result::Ok(())
        })
        .unwrap();
    });
}

/// Receives raced against a future that wins whenever the receive would wait, while 3,000
/// messages arrive from another thread: each arrives once, in order.
#[test]
fn cancelled_receives_lose_nothing() {
    bounded(LIMIT, || {
        let dir = TestDir::new("aio-msg-cancel");
        let name = any_name(&dir, "aio-msg-cancel");
        let (_listener, server, client) = pair(&name).unwrap();
        const N: u32 = 3_000;
        let sender = std::thread::spawn(move || {
            future::block_on(async {
                for i in 0..N {
                    client.send(&i.to_le_bytes()).await?;
                }
                io::Result::Ok(())
            })
        });
        let got = future::block_on(async {
            let mut got = Vec::new();
            while got.len() < N as usize {
                let recv = async { Some(server.recv_vec().await) };
                let lose = async {
                    future::yield_now().await;
                    None
                };
                if let Some(m) = future::or(recv, lose).await {
                    let m = m?.expect("a message");
                    got.push(u32::from_le_bytes(m.try_into().unwrap()));
                }
            }
            io::Result::Ok(got)
        })
        .unwrap();
        sender.join().unwrap().unwrap();
        assert!(got == (0..N).collect::<Vec<_>>(), "lost or duplicated");
    });
}
