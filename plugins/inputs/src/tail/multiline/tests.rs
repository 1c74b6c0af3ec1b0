use std::time::Duration;

use super::{Continue, Multiline, Preset};

fn p(preset: Preset) -> Multiline {
    Multiline::preset(preset, Duration::from_secs(1), 1 << 20)
}

#[test]
fn java_continuations() {
    let j = p(Preset::Java);
    assert_eq!(
        j.continues(false, b"\tat a.B.c(B.java:1)"),
        Continue::Append
    );
    assert_eq!(
        j.continues(false, b"    at a.B.c(B.java:1)"),
        Continue::Append
    );
    assert_eq!(j.continues(false, b"Caused by: x"), Continue::Append);
    assert_eq!(j.continues(false, b"\t... 12 more"), Continue::Append);
    assert_eq!(j.continues(false, b"\tSuppressed: y"), Continue::Append);
    assert_eq!(j.continues(false, b"INFO next"), Continue::No);
    assert!(j.begins(b"anything"));
}

#[test]
fn python_ends_at_the_exception_line() {
    let py = p(Preset::Python);
    assert!(py.begins(b"Traceback (most recent call last):"));
    assert!(!py.begins(b"INFO x"));
    assert_eq!(py.continues(false, b"  File \"x\""), Continue::Append);
    assert_eq!(py.continues(false, b"KeyError: 'a'"), Continue::AppendLast);
    assert_eq!(py.continues(true, b"INFO x"), Continue::No);
    assert_eq!(
        py.continues(
            true,
            b"During handling of the above exception, another exception occurred:"
        ),
        Continue::Append
    );
}

#[test]
fn go_panic_shape() {
    let g = p(Preset::Go);
    assert!(g.begins(b"panic: runtime error: index out of range"));
    assert!(g.begins(b"fatal error: all goroutines are asleep - deadlock!"));
    assert!(!g.begins(b"level=info"));
    for l in [
        &b""[..],
        b"goroutine 7 [running]:",
        b"main.f(0x1)",
        b"\t/a/b.go:3 +0x1",
        b"exit status 2",
    ] {
        assert_eq!(
            g.continues(false, l),
            Continue::Append,
            "{}",
            String::from_utf8_lossy(l)
        );
    }
    assert_eq!(g.continues(false, b"level=info msg=x"), Continue::No);
}
