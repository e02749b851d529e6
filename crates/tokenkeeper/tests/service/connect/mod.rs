pub mod callback_input;
pub mod callback_retries;
pub mod connect_flow;
pub mod connect_guards;
pub mod connect_storage;
