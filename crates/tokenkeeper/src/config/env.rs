//! The environment layer: `TOKENKEEPER_<KEY>` and `TOKENKEEPER_<SECTION>__<KEY>`.
//!
//! Why not figment's own `Env` provider (`Env::prefixed("TOKENKEEPER_").split("__")`): it
//! reads only the process environment (`std::env::vars_os`), while the tests and the demo pass
//! their own variables; it guesses each value's type from its text, so a secret `007` would
//! become the number 7 and a quoted password would lose its quotes; it has no lists, so
//! `a, b` would not be two origins; and it takes any `TOKENKEEPER_` variable, so a misspelt one
//! would be refused as an unknown key rather than named as the variable it is. This provider
//! reads the variables it is given and reads each text as the type of the key's default
//! instead, so a secret made of digits stays the text it was and `fifty` is refused under the
//! variable's name.

use super::error::{invalid, ConfigError, ENV_ORIGIN, PREFIX, SEPARATOR};
use figment::value::{Dict, Map, Num, Value};
use figment::{Error, Metadata, Profile, Provider};

/// A default section's one key that stands for any name: `[providers]` takes any provider's
/// name, and each takes a provider's keys.
pub(super) const ANY_NAME: &str = "*";

/// Variables read by the command line itself, not configuration keys.
const CLI_VARIABLES: &[&str] = &["TOKENKEEPER_CONFIG"];

/// The configuration keys set by environment variables, as typed values.
pub(super) struct Variables(Dict);

impl Variables {
    /// Every `TOKENKEEPER_*` variable must name a key of `defaults`; its text is read as the
    /// type of that key's default.
    pub(super) fn read(
        vars: impl IntoIterator<Item = (String, String)>,
        defaults: &Dict,
    ) -> Result<Self, ConfigError> {
        let mut vars: Vec<_> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with(PREFIX) && !CLI_VARIABLES.contains(&k.as_str()))
            .collect();
        vars.sort();
        let mut values = Dict::new();
        for (var, text) in vars {
            let name = var[PREFIX.len()..].to_ascii_lowercase();
            let path: Vec<&str> = name.split(SEPARATOR).collect();
            let unknown = || ConfigError::UnknownVariable { var: var.clone() };
            let (last, sections) = path.split_last().expect("split yields one part at least");
            let mut default_section = defaults;
            let mut section = &mut values;
            for part in sections {
                let Some(Value::Dict(_, dict)) = any(default_section, part) else {
                    return Err(unknown());
                };
                default_section = dict;
                let entry = section.entry((*part).to_owned());
                let Value::Dict(_, dict) = entry.or_insert_with(|| Dict::new().into()) else {
                    unreachable!("sections hold only sections")
                };
                section = dict;
            }
            let default = any(default_section, last).ok_or_else(unknown)?;
            let value = typed(default, &var, &text, &path.join("."))?;
            section.insert((*last).to_owned(), value);
        }
        Ok(Self(values))
    }
}

/// The default of `key` in `section`, or of any name where the section takes any.
fn any<'a>(section: &'a Dict, key: &str) -> Option<&'a Value> {
    section.get(key).or_else(|| section.get(ANY_NAME))
}

/// `text` as a value of the same type as `default`.
fn typed(default: &Value, var: &str, text: &str, key: &str) -> Result<Value, ConfigError> {
    let about = |what: &str| invalid(key, format!("{var}={text:?} is not {what}"));
    let parts = text.split(',').map(str::trim).filter(|s| !s.is_empty());
    Ok(match default {
        Value::String(..) => Value::from(text.to_owned()),
        Value::Num(..) => non_negative(text).ok_or_else(|| about("an integer, 0 or more"))?,
        Value::Bool(..) => Value::from(
            text.trim()
                .parse::<bool>()
                .map_err(|_| about("true or false"))?,
        ),
        Value::Array(_, items) if matches!(items.first(), Some(Value::Num(..))) => Value::from(
            parts
                .map(non_negative)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| about("a comma-separated list of integers, 0 or more"))?,
        ),
        Value::Array(..) => Value::from(parts.map(str::to_owned).collect::<Vec<_>>()),
        _ => return Err(ConfigError::UnknownVariable { var: var.into() }),
    })
}

/// Integer keys are all counts or durations: negative text is refused with the key's name.
fn non_negative(text: &str) -> Option<Value> {
    let n: u64 = text.trim().parse().ok()?;
    Some(Value::from(Num::U64(n)))
}

impl Provider for Variables {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_ORIGIN)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        Ok(Profile::Default.collect(self.0.clone()))
    }
}
