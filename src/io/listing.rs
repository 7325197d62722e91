//! A folder listing as JSON, in the shape of nginx's `autoindex_format json`: the
//! embedded store writes it, and an HTTP source reads it (from the store, or from nginx).

use serde::{Deserialize, Serialize};

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListingEntry {
    /// The file or folder name.
    pub name: String,
    /// `"file"` or `"directory"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// An HTTP date, like nginx's: `Sat, 21 Nov 2026 10:00:00 GMT`.
    #[serde(default)]
    pub mtime: String,
    /// Files only: nginx gives no size for a folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}
