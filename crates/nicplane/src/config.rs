//! The server's configuration file (`serve --config-file FILE`, TOML).
//!
//! Its keys are the long options of `nicplane serve` without the dashes
//! (`listen`, `data-dir`, `quota-default`, ...), so the file, the flags and
//! the environment variables name the same settings. Precedence is
//! flag > environment > file > default, and it comes from clap itself: every
//! key the file sets becomes the option's environment variable unless the
//! process environment already has that variable, then the arguments are
//! parsed again. Each value is checked first with the option's own parser,
//! so a bad value names the file and the key rather than a flag the operator
//! never typed; an unknown key is refused the same way.

use anyhow::{anyhow, bail, Context, Result};
use clap::{Arg, ArgAction, Args as _, Command};
use std::path::Path;

/// The option (and variable) that names the file; not a key of the file.
pub const CONFIG_FILE_ID: &str = "config_file";

/// The `serve` options a file may set, as clap describes them.
fn serve_options() -> Vec<Arg> {
    crate::serve::ServeArgs::augment_args(Command::new("serve"))
        .get_arguments()
        .filter(|a| a.get_id() != CONFIG_FILE_ID && a.get_long().is_some())
        .cloned()
        .collect()
}

/// Read `path` and return, for every key it sets, the option's environment
/// variable and the value in the form that variable takes.
pub fn load(path: &Path) -> Result<Vec<(String, String)>> {
    let where_ = path.display();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the config file {where_}"))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| anyhow!("config file {where_}: {}", e.message()))?;
    let options = serve_options();
    let mut out = Vec::new();
    for (key, value) in &table {
        let arg = options
            .iter()
            .find(|a| a.get_long() == Some(key.as_str()))
            .ok_or_else(|| {
                anyhow!(
                    "config file {where_}: unknown key `{key}` (the keys are the long options of `nicplane serve`)"
                )
            })?;
        let var = arg
            .get_env()
            .and_then(|v| v.to_str())
            .ok_or_else(|| anyhow!("config file {where_}: the key `{key}` has no variable"))?;
        let values =
            values_of(arg, key, value).map_err(|e| anyhow!("config file {where_}: {e}"))?;
        for v in &values {
            check(arg, v).map_err(|e| {
                anyhow!("config file {where_}: invalid value '{v}' for key `{key}`: {e}")
            })?;
        }
        out.push((var.to_string(), values.join(",")));
    }
    Ok(out)
}

/// The file's value as the strings the option's parser takes.
fn values_of(arg: &Arg, key: &str, value: &toml::Value) -> Result<Vec<String>> {
    let scalar = |v: &toml::Value| match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(anyhow!(
            "the key `{key}` takes a string, an integer or a boolean"
        )),
    };
    match (arg.get_action(), value) {
        (ArgAction::SetTrue, toml::Value::Boolean(b)) => Ok(vec![b.to_string()]),
        (ArgAction::SetTrue, _) => bail!("the key `{key}` takes true or false"),
        (ArgAction::Append, toml::Value::Array(items)) => items.iter().map(scalar).collect(),
        (ArgAction::Append, v) => Ok(vec![scalar(v)?]),
        (_, toml::Value::Array(_)) => bail!("the key `{key}` takes one value, not a list"),
        (_, v) => Ok(vec![scalar(v)?]),
    }
}

/// Run one value through the option's own parser; the error is its reason.
fn check(arg: &Arg, value: &str) -> std::result::Result<(), String> {
    if !arg.get_action().takes_values() {
        return Ok(());
    }
    let long = arg.get_long().unwrap_or_default();
    let one = arg
        .clone()
        .env(None)
        .default_value(None)
        .value_delimiter(None);
    Command::new("nicplane")
        .no_binary_name(true)
        .arg(one)
        .try_get_matches_from([format!("--{long}"), value.to_string()])
        .map(|_| ())
        .map_err(|e| match std::error::Error::source(&e) {
            Some(reason) => reason.to_string(),
            None => {
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default();
                first.trim_start_matches("error: ").to_string()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The file reaches an option through its variable: an option without
    /// one could not be set from the file.
    #[test]
    fn every_serve_option_has_a_variable() {
        let missing: Vec<_> = serve_options()
            .iter()
            .filter(|a| a.get_env().is_none())
            .map(|a| a.get_long().unwrap_or_default().to_string())
            .collect();
        assert_eq!(missing, Vec::<String>::new());
    }

    #[test]
    fn values_take_the_form_of_the_variable() {
        let dir = std::env::temp_dir().join(format!("nicplane-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nicplane.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9\"\ninterface-limit = 3\ndemo = true\nquota-default = [\"port=9\", \"network=7\"]\n",
        )
        .unwrap();
        let mut got = load(&path).unwrap();
        got.sort();
        let want = [
            ("NICPLANE_DEMO", "true"),
            ("NICPLANE_INTERFACE_LIMIT", "3"),
            ("NICPLANE_LISTEN", "127.0.0.1:9"),
            ("NICPLANE_QUOTA_DEFAULTS", "port=9,network=7"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        assert_eq!(got, want);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
