pub mod delivery;
pub mod providers;
