//! End-to-end tests of the suite live in `tests/e2e/`.
