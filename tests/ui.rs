//! Compile-time behaviour of `#[rpc]`: what builds, and the exact message
//! for each misuse (see `tests/ui/README.md` to refresh them).

#[test]
fn ui() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/ui/pass/*.rs");
    cases.compile_fail("tests/ui/fail/*/*.rs");
}
