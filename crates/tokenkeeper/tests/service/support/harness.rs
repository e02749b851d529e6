//! The suite's own test runner. The standard harness cannot report a test as skipped once it
//! has started, so a PostgreSQL test without a server used to pass silently; here every test
//! on a backend first asks whether that backend is reachable, and is reported `ignored` with
//! the reason when it is not (or fails, under `CI=true`). The summary line keeps the standard
//! harness's format (`test result: ok. N passed; 0 failed; M ignored; ...`).
//!
//! Tests register themselves with `backend_tests!` (once per backend in `Backend::ALL`) or
//! `service_tests!` (once); a plain `#[test]` or `#[tokio::test]` would never run here, which
//! `every_test_in_the_suite_is_registered` turns into a failure. A test registered
//! `in_own_process:` runs alone in a child process of this binary: the metrics recorder is
//! process-wide, so only there can a test assert exact counts (`metric_values`).
//!
//! A check that needs a tool this machine may lack (Python's `standardwebhooks`,
//! chromedriver) calls `not_run` with the reason when the tool is missing: the test goes on
//! with what it can check and, unless that fails, is reported `ignored` with the reason, as a
//! backend without a server is; under `CI=true` it fails.

use libtest_mimic::{Arguments, Completion, Failed, Trial};
use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use test_databases::{readiness, running_in_ci, Backend, Readiness};

pub type Body = Pin<Box<dyn Future<Output = ()>>>;

/// A test body run once per backend it names.
pub struct BackendTest {
    pub module: &'static str,
    pub name: &'static str,
    pub backends: &'static [Backend],
    pub own_process: bool,
    pub body: fn(Backend) -> Body,
}

/// A test body run once, needing no particular backend.
pub struct ServiceTest {
    pub module: &'static str,
    pub name: &'static str,
    pub own_process: bool,
    pub body: fn() -> Body,
}

inventory::collect!(BackendTest);
inventory::collect!(ServiceTest);

/// Registers `async fn name(backend: Backend)` of the calling module to run on every backend,
/// or on the listed ones: `backend_tests!(only [Postgres]: name)`; `in_own_process:` runs
/// each in a process of its own (see `in_own_process`).
#[macro_export]
macro_rules! backend_tests {
    (only [$($backend:ident),+ $(,)?]: $name:ident) => {
        inventory::submit! {
            $crate::support::harness::BackendTest {
                module: module_path!(),
                name: stringify!($name),
                backends: &[$(test_databases::Backend::$backend),+],
                own_process: false,
                body: |backend| Box::pin($name(backend)),
            }
        }
    };
    (in_own_process: $($name:ident),* $(,)?) => {
        $(inventory::submit! {
            $crate::support::harness::BackendTest {
                module: module_path!(),
                name: stringify!($name),
                backends: test_databases::Backend::ALL,
                own_process: true,
                body: |backend| Box::pin($name(backend)),
            }
        })*
    };
    ($($name:ident),* $(,)?) => {
        $(inventory::submit! {
            $crate::support::harness::BackendTest {
                module: module_path!(),
                name: stringify!($name),
                backends: test_databases::Backend::ALL,
                own_process: false,
                body: |backend| Box::pin($name(backend)),
            }
        })*
    };
}

/// Registers `async fn name()` of the calling module to run once (`in_own_process:` as above).
#[macro_export]
macro_rules! service_tests {
    (in_own_process: $($name:ident),* $(,)?) => {
        $(inventory::submit! {
            $crate::support::harness::ServiceTest {
                module: module_path!(),
                name: stringify!($name),
                own_process: true,
                body: || Box::pin($name()),
            }
        })*
    };
    ($($name:ident),* $(,)?) => {
        $(inventory::submit! {
            $crate::support::harness::ServiceTest {
                module: module_path!(),
                name: stringify!($name),
                own_process: false,
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
            let own_process = test.own_process;
            let name = format!("{}::{}::{}", module(test.module), backend.name(), test.name);
            let trial_name = name.clone();
            trials.push(Trial::ignorable_test(
                name,
                move || match backend_readiness(backend) {
                    Readiness::Ready => run(&trial_name, own_process, || body(backend)),
                    Readiness::Skip(reason) => Ok(Completion::ignored_with(reason)),
                    Readiness::Fail(reason) => Err(reason.into()),
                },
            ));
        }
    }
    for test in inventory::iter::<ServiceTest> {
        let body = test.body;
        let own_process = test.own_process;
        let name = format!("{}::{}", module(test.module), test.name);
        let trial_name = name.clone();
        trials.push(Trial::ignorable_test(name, move || {
            run(&trial_name, own_process, body)
        }));
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

thread_local! {
    /// The checks of the test running on this thread that could not run, and why. A test
    /// body runs on its trial's thread, on a runtime of that thread alone.
    static NOT_RUN: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Says that a check of the running test cannot run on this machine, and why (name what
/// installs the missing tool). The test goes on with its other checks; unless one fails, it
/// is reported `ignored` with the reason, or failed under `CI=true`. Call it from the test's
/// own thread: its body, or a task it spawns.
pub fn not_run(reason: impl Into<String>) {
    let reason = reason.into();
    NOT_RUN.with(|not_run| {
        let mut not_run = not_run.borrow_mut();
        // A check skipped twice for one reason is reported once.
        if !not_run.contains(&reason) {
            not_run.push(reason);
        }
    });
}

/// How a test that ran to its end is reported, given the checks it could not run: passed
/// when it ran them all; else ignored with the reasons, or failed where every check must run
/// (`ci`), as a backend without a server is.
pub fn conclude(not_run: Vec<String>, ci: bool) -> Result<Completion, Failed> {
    if not_run.is_empty() {
        return Ok(Completion::Completed);
    }
    let reasons = not_run.join("; ");
    if ci {
        return Err(format!("not run: {reasons}; under CI=true every check must run").into());
    }
    Ok(Completion::ignored_with(reasons))
}

/// One test body on a runtime of its own, as `#[tokio::test]` gives; a panic is the failure.
/// A test that needs its own process is run by this binary again, on that test alone.
fn run(name: &str, own_process: bool, body: impl FnOnce() -> Body) -> Result<Completion, Failed> {
    if own_process && !in_own_process() {
        return run_in_own_process(name);
    }
    NOT_RUN.with(|not_run| not_run.borrow_mut().clear());
    runtime().block_on(body());
    conclude(NOT_RUN.take(), running_in_ci())
}

/// Set in a process started for one test.
const OWN_PROCESS: &str = "TOKENKEEPER_TEST_OWN_PROCESS";

/// Whether this process runs one test alone. Metrics, for one, are recorded process-wide
/// (`/metrics` serves the process's recorder), so only a test alone in its process can say
/// exactly what its own run counted.
pub fn in_own_process() -> bool {
    std::env::var_os(OWN_PROCESS).is_some()
}

fn run_in_own_process(name: &str) -> Result<Completion, Failed> {
    let output = std::process::Command::new(std::env::current_exe().map_err(|e| e.to_string())?)
        .args([name, "--exact", "--test-threads=1", "--color=never"])
        .env(OWN_PROCESS, name)
        .output()
        .map_err(|e| format!("cannot run the test in a process of its own: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if output.status.success() && stdout.contains("test result: ok. 1 passed;") {
        return Ok(Completion::Completed);
    }
    // Ignored there for the reason it printed: `test NAME ... ignored (REASON)`.
    let ignored = stdout
        .lines()
        .find_map(|line| line.split_once(" ... ignored (")?.1.strip_suffix(')'));
    if let (true, Some(reason)) = (output.status.success(), ignored) {
        return Ok(Completion::ignored_with(reason));
    }
    Err(format!(
        "in its own process:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    )
    .into())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a test runtime")
}
