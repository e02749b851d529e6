pub mod database_file;
pub mod keys_command;
pub mod plaintext_tokens;
pub mod providers;
pub mod rules;
pub mod stored_names;
pub mod tokens_at_rest;
