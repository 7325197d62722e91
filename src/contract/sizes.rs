//! The widths to make.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The widths to make, in pixels, as given on the command line (`32,64,200`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes(Vec<u32>);

impl Sizes {
    /// The sizes in the order given, without repeats.
    pub fn new(widths: impl IntoIterator<Item = u32>) -> Result<Sizes, String> {
        let mut seen = HashSet::new();
        let widths: Vec<u32> = widths.into_iter().filter(|w| seen.insert(*w)).collect();
        if widths.is_empty() {
            return Err("at least one width is needed".into());
        }
        if widths.contains(&0) {
            return Err("a width of 0 pixels makes no thumbnail".into());
        }
        Ok(Sizes(widths))
    }

    /// The requested widths.
    pub fn widths(&self) -> &[u32] {
        &self.0
    }
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes(vec![32, 64, 200])
    }
}

impl FromStr for Sizes {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let widths = text
            .split(',')
            .map(|part| {
                let part = part.trim();
                part.parse::<u32>()
                    .map_err(|_| format!("'{part}' is not a width in pixels"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Sizes::new(widths)
    }
}

impl fmt::Display for Sizes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u32::to_string).collect();
        f.write_str(&parts.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_keep_order_without_repeats() {
        let sizes: Sizes = "200, 32,64,32".parse().unwrap();
        assert_eq!(sizes.widths(), &[200, 32, 64]);
        assert_eq!(sizes.to_string(), "200,32,64");
        assert!("".parse::<Sizes>().is_err());
        assert!("0".parse::<Sizes>().is_err());
        assert!("32,abc".parse::<Sizes>().is_err());
        assert_eq!(Sizes::default().widths(), &[32, 64, 200]);
    }
}
