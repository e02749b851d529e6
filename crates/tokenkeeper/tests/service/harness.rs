//! The suite's own test runner. The standard harness cannot report a test as skipped once it
//! has started, so a PostgreSQL test without a server used to pass silently; here every test
//! on a backend first asks whether that backend is reachable, and is reported `ignored` with
//! the reason when it is not (or fails, under `CI=true`). The summary line keeps the standard
//! harness's format (`test result: ok. N passed; 0 failed; M ignored; ...`).
//!
//! Tests register themselves with `backend_tests!` (once per backend in `Backend::ALL`) or
//! `service_tests!` (once); a plain `#[test]` or `#[tokio::test]` would never run here, which
//! `every_test_in_the_suite_is_registered` turns into a failure.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use tokenkeeper::store::testing::{readiness, Backend, Readiness};

pub type Body = Pin<Box<dyn Future<Output = ()>>>;

/// A test body run once per backend it names.
pub struct BackendTest {
    pub module: &'static str,
    pub name: &'static str,
    pub backends: &'static [Backend],
    pub body: fn(Backend) -> Body,
}

/// A test body run once, needing no particular backend.
pub struct ServiceTest {
    pub module: &'static str,
    pub name: &'static str,
    pub body: fn() -> Body,
}

inventory::collect!(BackendTest);
inventory::collect!(ServiceTest);

/// Registers `async fn name(backend: Backend)` of the calling module to run on every backend,
/// or on the listed ones: `backend_tests!(only [Postgres]: name)`.
#[macro_export]
macro_rules! backend_tests {
    (only [$($backend:ident),+ $(,)?]: $name:ident) => {
        inventory::submit! {
            $crate::harness::BackendTest {
                module: module_path!(),
                name: stringify!($name),
                backends: &[$(tokenkeeper::store::testing::Backend::$backend),+],
                body: |backend| Box::pin($name(backend)),
            }
        }
    };
    ($($name:ident),* $(,)?) => {
        $(inventory::submit! {
            $crate::harness::BackendTest {
                module: module_path!(),
                name: stringify!($name),
                backends: tokenkeeper::store::testing::Backend::ALL,
                body: |backend| Box::pin($name(backend)),
            }
        })*
    };
}

/// Registers `async fn name()` of the calling module to run once.
#[macro_export]
macro_rules! service_tests {
    ($($name:ident),* $(,)?) => {
        $(inventory::submit! {
            $crate::harness::ServiceTest {
                module: module_path!(),
                name: stringify!($name),
                body: || Box::pin($name()),
            }
        })*
    };
}

/// Runs the suite with the standard harness's command line, several filters included (a test
/// runs when its name contains any of them, or equals one under `--exact`).
pub fn main() {
    let (filters, options) = split_filters(std::env::args());
    let mut arguments = Arguments::from_iter(options);
    let mut trials = trials();
    match filters.as_slice() {
        [] => {}
        [one] => arguments.filter = Some(one.clone()),
        several => trials.retain(|trial| {
            several.iter().any(|filter| match arguments.exact {
                true => trial.name() == filter,
                false => trial.name().contains(filter.as_str()),
            })
        }),
    }
    libtest_mimic::run(&arguments, trials).exit();
}

/// The free arguments (filters) apart from the program name and the options with theirs.
fn split_filters(args: impl IntoIterator<Item = String>) -> (Vec<String>, Vec<String>) {
    const WITH_VALUE: [&str; 6] = [
        "--test-threads",
        "--logfile",
        "--skip",
        "--color",
        "--format",
        "-Z",
    ];
    let mut args = args.into_iter();
    let mut options: Vec<String> = args.next().into_iter().collect();
    let mut filters = Vec::new();
    while let Some(arg) = args.next() {
        if WITH_VALUE.contains(&arg.as_str()) {
            options.push(arg);
            options.extend(args.next());
        } else if arg.starts_with('-') {
            options.push(arg);
        } else {
            filters.push(arg);
        }
    }
    (filters, options)
}

/// Every registered test, named as the standard harness named them (`module::backend::test`)
/// so filters keep working.
pub fn trials() -> Vec<Trial> {
    let mut trials = Vec::new();
    for test in inventory::iter::<BackendTest> {
        for &backend in test.backends {
            let body = test.body;
            let name = format!("{}::{}::{}", module(test.module), backend.name(), test.name);
            trials.push(Trial::ignorable_test(
                name,
                move || match backend_readiness(backend) {
                    Readiness::Ready => run(body(backend)).map(|()| Completion::Completed),
                    Readiness::Skip(reason) => Ok(Completion::ignored_with(reason)),
                    Readiness::Fail(reason) => Err(reason.into()),
                },
            ));
        }
    }
    for test in inventory::iter::<ServiceTest> {
        let body = test.body;
        let name = format!("{}::{}", module(test.module), test.name);
        trials.push(Trial::test(name, move || run(body())));
    }
    trials.sort_by(|a, b| a.name().cmp(b.name()));
    trials
}

/// The module path inside this test binary, without the binary's own name.
fn module(path: &'static str) -> &'static str {
    path.split_once("::").map_or(path, |(_, rest)| rest)
}

/// Asked once per backend and run: every test on it then gets the same answer (the tests
/// waiting meanwhile for the first probe, rather than each probing a dead server).
fn backend_readiness(backend: Backend) -> Readiness {
    static ANSWERS: Mutex<Vec<(Backend, Readiness)>> = Mutex::new(Vec::new());
    let mut answers = ANSWERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, known)) = answers.iter().find(|(b, _)| *b == backend) {
        return known.clone();
    }
    let answer = runtime().block_on(readiness(backend));
    answers.push((backend, answer.clone()));
    answer
}

/// One test body on a runtime of its own, as `#[tokio::test]` gives; a panic is the failure.
fn run(body: Body) -> Result<(), Failed> {
    runtime().block_on(body);
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a test runtime")
}
