//! Disk buffer append throughput: groups of batches appended then synced once (the writer's
//! group commit), with `sync = "batch"` (fdatasync per group) and `sync = "none"`, in bytes of
//! encoded batches per second. Compare with `dd if=/dev/zero of=F bs=1M count=1024
//! conv=fdatasync` on the same disk.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use gleaner::buffer::store::{ChunkStore, StoreConfig};
use gleaner::config::BufferSync;
use gleaner_api::codec::encode_batch;
use gleaner_api::{Batch, FieldValue, LogRecord, Stream};

fn batch() -> Batch {
    Batch::Logs(
        (0..100)
            .map(|i| {
                LogRecord::new(
                    1_700_000_000_000_000_000 + i,
                    format!("{i:0>180}"),
                    Stream::Stdout,
                )
                .with_attribute(
                    "path",
                    FieldValue::String("/var/log/pods/ns_pod_uid/c/0.log".into()),
                )
                .with_attribute("namespace", FieldValue::String("default".into()))
            })
            .collect(),
    )
}

fn bench(c: &mut Criterion) {
    let b = batch();
    let mut encoded = Vec::new();
    encode_batch(&b, &mut encoded);
    for (name, sync, group) in [
        ("append_sync_batch_group16", BufferSync::Batch, 16u64),
        ("append_sync_batch_group1", BufferSync::Batch, 1),
        ("append_sync_none_group16", BufferSync::None, 16),
    ] {
        let dir =
            tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/var/tmp".into()))
                .expect("tempdir");
        let cfg = StoreConfig {
            chunk_size: 2 << 20,
            sync,
        };
        let (mut store, _) =
            ChunkStore::open(&dir.path().join("buf"), &dir.path().join("corrupt"), cfg)
                .expect("open");
        let mut g = c.benchmark_group("buffer");
        g.throughput(Throughput::Bytes(encoded.len() as u64 * group));
        g.bench_function(name, |bench| {
            bench.iter(|| {
                for _ in 0..group {
                    store.append(&b).expect("append");
                }
                store.sync().expect("sync");
                // Keep the disk from filling: deliver (remove) sealed chunks.
                while let Some(seq) = store.front().map(|c| c.seq) {
                    store.remove(seq).expect("remove");
                }
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
