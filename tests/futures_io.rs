//! The async streams through `futures_io`, driven by an executor that is not tokio's.
#![cfg(feature = "futures-io")]

mod util;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use localipc::local_socket::tokio::{LocalSocketListener, LocalSocketStream};
use std::time::Duration;
use util::{any_name, bounded, TestDir};

#[test]
fn echo_on_futures_lite_executor() {
    bounded(Duration::from_secs(20), || {
        let dir = TestDir::new("fio");
        let name = any_name(&dir, "fio");
        // tokio provides only the reactor, on its own threads; no task runs on it.
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_io()
            .build()
            .unwrap();
        let (listener, client) = {
            let _enter = rt.enter();
            let listener = LocalSocketListener::bind(name.as_str()).unwrap();
            let client = rt
                .block_on(LocalSocketStream::connect(name.as_str()))
                .unwrap();
            (listener, client)
        };
        futures_lite::future::block_on(async {
            let server = async {
                let mut conn = listener.accept().await.unwrap();
                let mut req = Vec::new();
                conn.read_to_end(&mut req).await.unwrap();
                conn.write_all(&req).await.unwrap();
                conn.close().await.unwrap();
            };
            let client = async {
                let mut client = client;
                let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
                // Write and read at once through `&client`: the buffers are smaller than the data.
                let (w, r) = futures_lite::future::zip(
                    async {
                        (&client).write_all(&data).await.unwrap();
                        (&client).close().await.unwrap();
                    },
                    async {
                        let mut back = Vec::new();
                        (&client).read_to_end(&mut back).await.unwrap();
                        back
                    },
                )
                .await;
                let () = w;
                assert!(
                    r == data,
                    "echo differs: {} of {} bytes",
                    r.len(),
                    data.len()
                );
                client.close().await.ok();
            };
            futures_lite::future::zip(server, client).await;
        });
        drop(listener);
        drop(rt);
    });
}
