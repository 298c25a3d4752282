//! Load: a thousand concurrent async clients on one listener.
//! (The descriptor-count test lives alone in `load_handles.rs`: counts are process-wide.)
#![cfg(feature = "tokio")]

mod util;

use std::time::Duration;
use util::{any_name, bounded, TestDir};

#[test]
fn a_thousand_concurrent_tokio_clients_echo_256_kib_each() {
    use localipc::local_socket::tokio as lt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    bounded(Duration::from_secs(120), || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let dir = TestDir::new("k");
            let name = any_name(&dir, "k");
            let listener = lt::LocalSocketListener::bind(name.as_str()).unwrap();
            const CLIENTS: usize = 1000;
            const LEN: usize = 256 << 10;
            let server = tokio::spawn(async move {
                let mut tasks = tokio::task::JoinSet::new();
                for _ in 0..CLIENTS {
                    let conn = listener.accept().await.unwrap();
                    tasks.spawn(async move {
                        let (mut r, mut w) = conn.into_split();
                        tokio::io::copy(&mut r, &mut w).await.unwrap();
                        w.shutdown().await.unwrap();
                    });
                }
                while let Some(t) = tasks.join_next().await {
                    t.unwrap();
                }
            });
            let mut clients = tokio::task::JoinSet::new();
            for i in 0..CLIENTS {
                let name = name.clone();
                clients.spawn(async move {
                    let conn = lt::LocalSocketStream::connect(name.as_str()).await.unwrap();
                    let data: Vec<u8> = (0..LEN)
                        .map(|j| (j ^ (i * 131)).to_le_bytes()[0] ^ (j >> 9).to_le_bytes()[0])
                        .collect();
                    let (mut r, mut w) = conn.into_split();
                    let expect = data.clone();
                    let writer = tokio::spawn(async move {
                        w.write_all(&data).await.unwrap();
                        w.shutdown().await.unwrap();
                        w
                    });
                    let mut back = Vec::with_capacity(LEN);
                    r.read_to_end(&mut back).await.unwrap();
                    assert!(
                        back == expect,
                        "client {i}: echo differs ({} bytes back)",
                        back.len()
                    );
                    writer.await.unwrap();
                });
            }
            while let Some(c) = clients.join_next().await {
                c.unwrap();
            }
            server.await.unwrap();
        });
    });
}
