//! Where the CPU step's time goes. Each picture of the kernel bench is made into its
//! thumbnails many times on this thread; the kernel's check points (see
//! [`thumbnails_in_steps`]) split each run into its pieces, the decode, the resizes and
//! the encodes, and the median of each piece is drawn as one bar per picture.
//! `workbench profile` writes the chart and the table.
//!
//! A sampling profiler would say the same at the level of functions; the check points
//! say it in the words of the lesson, and need no tool the machine may lack.

use std::path::Path;
use std::time::Instant;

use super::chart::{self, BarGroup, ChartError};
use super::section::Table;
use crate::contract::{DecodeLimits, OutputFormat, Sizes};
use crate::harness::corpus::{self, CorpusSpec, Sample};
use crate::kernel::{Piece, thumbnails_in_steps};

/// The chart's file name.
pub const CHART: &str = "profile.svg";
/// The table's file name.
pub const TABLE: &str = "profile.md";

/// One picture's pieces: the median over the rounds of each, in milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    /// The picture, as the chart names it.
    pub picture: String,
    /// Reading the file into pixels, colours converted to sRGB.
    pub decode_ms: f64,
    /// Every width resized (and turned upright), together.
    pub resize_ms: f64,
    /// Every thumbnail encoded, together.
    pub encode_ms: f64,
}

impl ProfileRow {
    /// The three pieces together.
    pub fn total_ms(&self) -> f64 {
        self.decode_ms + self.resize_ms + self.encode_ms
    }
}

/// Every picture's pieces.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// The runs per picture each median is taken over.
    pub rounds: usize,
    /// One row per picture, in the kernel bench's order.
    pub rows: Vec<ProfileRow>,
}

/// Why the profile could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot make the picture '{0}': {1}")]
    Picture(String, String),
    #[error(transparent)]
    Chart(#[from] ChartError),
}

/// The kernel bench's pictures, with the names the chart gives them: the full-size
/// photo of the default corpus as JPEG (read at 1/8) and as it comes from phones and
/// other programs.
fn pictures() -> Result<Vec<(&'static str, Vec<u8>)>, ProfileError> {
    let spec = CorpusSpec::default_photos();
    let failed =
        |name: &str, e: corpus::CorpusError| ProfileError::Picture(name.into(), e.to_string());
    let mut pictures = Vec::new();
    let jpeg = "JPEG (read at 1/8)";
    pictures.push((
        jpeg,
        corpus::image_bytes(&spec, 0).map_err(|e| failed(jpeg, e))?,
    ));
    for (name, sample) in [
        ("JPEG on its side (1/4)", Sample::Turned(6)),
        ("JPEG in Display P3", Sample::DisplayP3),
    ] {
        let bytes = corpus::sample_bytes(&spec, 0, sample).map_err(|e| failed(name, e))?;
        pictures.push((name, bytes));
    }
    let png = "PNG";
    let last = spec.count - 1;
    pictures.push((
        png,
        corpus::image_bytes(&spec, last).map_err(|e| failed(png, e))?,
    ));
    for (name, sample) in [("WebP, lossless", Sample::Webp), ("GIF", Sample::Gif)] {
        let bytes = corpus::sample_bytes(&spec, 0, sample).map_err(|e| failed(name, e))?;
        pictures.push((name, bytes));
    }
    Ok(pictures)
}

/// Profiles every picture `rounds` times (at least once), on this thread.
pub fn measure(rounds: usize) -> Result<Profile, ProfileError> {
    let rounds = rounds.max(1);
    let sizes = Sizes::default();
    let mut rows = Vec::new();
    for (picture, bytes) in pictures()? {
        let mut runs = Vec::with_capacity(rounds);
        for _ in 0..rounds {
            let run =
                pieces(&bytes, &sizes).map_err(|e| ProfileError::Picture(picture.into(), e))?;
            runs.push(run);
        }
        let median = |piece: usize| median(runs.iter().map(|run| run[piece]).collect());
        rows.push(ProfileRow {
            picture: picture.to_string(),
            decode_ms: median(0),
            resize_ms: median(1),
            encode_ms: median(2),
        });
    }
    Ok(Profile { rounds, rows })
}

/// One run of the CPU step on `bytes`: milliseconds in the decode, the resizes and the
/// encodes. Each check point ends the piece it names; the time since the one before
/// goes to that piece.
fn pieces(bytes: &[u8], sizes: &Sizes) -> Result<[f64; 3], String> {
    let mut spent = [0.0; 3];
    let mut since = Instant::now();
    thumbnails_in_steps(
        bytes,
        sizes,
        DecodeLimits::DEFAULT,
        OutputFormat::Auto,
        |piece| {
            let index = match piece {
                Piece::Decode => 0,
                Piece::Resize(_) => 1,
                Piece::Encode(_) => 2,
            };
            spent[index] += since.elapsed().as_secs_f64() * 1e3;
            since = Instant::now();
        },
    )
    .map_err(|e| e.to_string())?;
    Ok(spent)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

impl Profile {
    /// The table: each piece, the total, and the decode's share of it.
    pub fn table(&self) -> Table {
        let mut table = Table::new(
            "profile",
            &[
                "picture",
                "decode ms",
                "resize ms",
                "encode ms",
                "total ms",
                "decode share",
            ],
        );
        for row in &self.rows {
            table.row(vec![
                row.picture.clone(),
                format!("{:.2}", row.decode_ms),
                format!("{:.2}", row.resize_ms),
                format!("{:.2}", row.encode_ms),
                format!("{:.2}", row.total_ms()),
                format!("{:.0}%", 100.0 * row.decode_ms / row.total_ms().max(1e-9)),
            ]);
        }
        table
    }

    /// The chart: one bar per picture, its pieces one after the other.
    pub fn svg(&self) -> Result<String, ChartError> {
        let labels: Vec<String> = self.rows.iter().map(|r| r.picture.clone()).collect();
        let piece = |name: &str, value: fn(&ProfileRow) -> f64| BarGroup {
            name: name.to_string(),
            values: self.rows.iter().map(|r| Some(value(r))).collect(),
        };
        chart::stacked_bars(
            "The CPU step of one 1920x1280 picture, piece by piece (median, one core)",
            "milliseconds",
            " ms",
            &labels,
            &[
                piece("decode", |r| r.decode_ms),
                piece("resize", |r| r.resize_ms),
                piece("encode", |r| r.encode_ms),
            ],
        )
    }

    /// Writes the chart and the table into `folder`.
    pub fn write(&self, folder: &Path) -> Result<(), ProfileError> {
        let write = |name: &str, bytes: &[u8]| {
            crate::platform::write_atomically(&folder.join(name), bytes)
                .map_err(|e| ProfileError::Picture(name.into(), e.to_string()))
        };
        std::fs::create_dir_all(folder)
            .map_err(|e| ProfileError::Picture(folder.display().to_string(), e.to_string()))?;
        write(CHART, self.svg()?.as_bytes())?;
        write(TABLE, self.table().markdown().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_picture_gets_its_three_pieces_and_the_chart_names_them() {
        let profile = measure(1).unwrap();
        let names: Vec<&str> = profile.rows.iter().map(|r| r.picture.as_str()).collect();
        assert_eq!(
            names,
            [
                "JPEG (read at 1/8)",
                "JPEG on its side (1/4)",
                "JPEG in Display P3",
                "PNG",
                "WebP, lossless",
                "GIF"
            ]
        );
        for row in &profile.rows {
            assert!(
                row.decode_ms > 0.0 && row.resize_ms > 0.0 && row.encode_ms > 0.0,
                "{row:?}"
            );
        }
        let svg = profile.svg().unwrap();
        for word in ["decode", "resize", "encode", "Display P3", "GIF"] {
            assert!(svg.contains(word), "the chart lacks {word}");
        }
        let table = profile.table().markdown();
        assert_eq!(table.lines().count(), 2 + profile.rows.len(), "{table}");
    }

    #[test]
    fn the_median_is_the_middle_value() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![]), 0.0);
    }
}
