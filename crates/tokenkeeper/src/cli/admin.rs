//! `tokenkeeper admin hash-password`: the dashboard's password hash.

use anyhow::Context;

/// The hash alone goes to stdout, so it can be captured; the password is never printed.
pub fn hash_password() -> anyhow::Result<()> {
    use std::io::IsTerminal;
    let password = if std::io::stdin().is_terminal() {
        rpassword::prompt_password("dashboard password: ").context("cannot read the password")?
    } else {
        let mut line = String::new();
        std::io::stdin()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    anyhow::ensure!(!password.is_empty(), "the password is empty");
    let hash = crate::crypto::hash_password(&password)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?;
    println!("{hash}");
    eprintln!("set it as admin.password_hash (TOKENKEEPER_ADMIN__PASSWORD_HASH) to turn the dashboard on at /admin");
    Ok(())
}
