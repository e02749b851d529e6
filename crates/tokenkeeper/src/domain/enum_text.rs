//! The text an enum is stored, logged, labelled and sent as. It is written once, in the enum's
//! `strum` attributes; this trait reads it back and parses it, with one error for all.

use super::InvalidInput;

pub trait EnumText: Copy + Into<&'static str> + strum::VariantArray + 'static {
    /// What a value is, for the error naming an unknown one ("account status").
    const WHAT: &'static str;

    /// Every value, in the order the enum declares them.
    const ALL: &'static [Self] = <Self as strum::VariantArray>::VARIANTS;

    fn as_str(self) -> &'static str {
        self.into()
    }

    fn parse(raw: &str) -> Result<Self, InvalidInput> {
        Self::VARIANTS
            .iter()
            .copied()
            .find(|value| value.as_str() == raw)
            .ok_or_else(|| InvalidInput(format!("unknown {} {raw:?}", Self::WHAT)))
    }
}
