use super::InvalidInput;
use std::fmt;
use std::str::FromStr;

/// Where reconnect mail goes. Checked when the account is stored, with the same parser the
/// mailer uses, so a bad address is refused at the edge instead of discovered at sending time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, InvalidInput> {
        let trimmed = raw.trim();
        lettre::Address::from_str(trimmed)
            .map_err(|_| InvalidInput(format!("{trimmed:?} is not a valid email address")))?;
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses_and_rejects_garbage() {
        assert_eq!(
            EmailAddress::parse(" ada@example.com ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in ["", "ada", "ada@", "@example.com", "a b@example.com"] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn prints_as_the_address() {
        let address = EmailAddress::parse("ada@example.com").unwrap();
        assert_eq!(address.to_string(), "ada@example.com");
    }
}
