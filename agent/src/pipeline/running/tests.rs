//! Reload by difference on a real pipeline (internal input, file outputs): what is kept,
//! built again, added and removed, and that a kept output is the same running task.

use super::*;
use crate::config;

fn load(dir: &std::path::Path, text: &str) -> Config {
    let path = dir.join("gleaner.toml");
    std::fs::write(&path, text).unwrap();
    config::load(&path).unwrap()
}

fn text(dir: &std::path::Path, out: &str, extra: &str) -> String {
    format!(
        r#"[agent]
http_listen = ""
shutdown_timeout = "2s"

[[inputs.internal]]
interval = "1h"

[[outputs.file]]
alias = "main"
path = "{}/{out}"
{extra}"#,
        dir.display()
    )
}

fn task_id(r: &Running, id: &str) -> tokio::task::Id {
    r.outputs
        .iter()
        .find(|o| &*o.id == id)
        .map(|o| o.task.id())
        .unwrap()
}

#[tokio::test]
async fn reload_keeps_what_did_not_change_and_builds_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let telemetry = Telemetry::new();
    let first = load(dir, &text(dir, "a.out", ""));
    let built = super::super::build(first, &telemetry).unwrap();
    let mut running = built.start(RunMode::Continuous).await.unwrap();
    let main_task = task_id(&running, "main");

    // Same values, other formatting and a comment: nothing changes.
    let same = text(dir, "a.out", "").replace("interval = \"1h\"", "interval   =  \"1h\" # hourly");
    let s = running.reload(load(dir, &same)).await.unwrap();
    assert_eq!(
        s,
        ReloadSummary {
            unchanged: 2,
            ..ReloadSummary::default()
        }
    );
    assert_eq!(
        task_id(&running, "main"),
        main_task,
        "the kept output is the same task"
    );

    let added = text(
        dir,
        "a.out",
        "\n[[outputs.file]]\nalias = \"side\"\npath = \"/dev/null\"\n",
    );
    let s = running.reload(load(dir, &added)).await.unwrap();
    assert_eq!((s.unchanged, s.added, s.changed, s.removed), (2, 1, 0, 0));
    assert_eq!(task_id(&running, "main"), main_task);

    let changed = text(dir, "b.out", "");
    let s = running.reload(load(dir, &changed)).await.unwrap();
    assert_eq!((s.unchanged, s.added, s.changed, s.removed), (1, 0, 1, 1));
    assert_ne!(
        task_id(&running, "main"),
        main_task,
        "a changed output is built again"
    );
    assert_eq!(running.outputs.len(), 1);

    // An `[agent]` value plugins are built from changes: every component is built again.
    let agent = changed.replace("[agent]", "[agent]\nhostname = \"other\"");
    let s = running.reload(load(dir, &agent)).await.unwrap();
    assert_eq!((s.unchanged, s.changed), (0, 2));

    // A bad plugin table is rejected and nothing changes.
    let bad = changed.replace("path =", "paht =");
    let main_task = task_id(&running, "main");
    let path = dir.join("gleaner.toml");
    std::fs::write(&path, &bad).unwrap();
    let errors = match config::load(&path) {
        Ok(c) => running.reload(c).await.unwrap_err(),
        Err(e) => e,
    };
    assert!(errors.to_string().contains("paht"), "{errors}");
    assert_eq!(task_id(&running, "main"), main_task);
    assert!(running.stop().await);
}
