//! The ready-made workloads the tour and the bench run.

use clap::ValueEnum;

use super::corpus::CorpusSpec;

/// The workloads the tour and the bench run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Workload {
    /// Folder in, folder out, no network: the CPU step dominates.
    Cpu,
    /// Small images from the embedded store with latency: waiting dominates.
    Io,
    /// Full-size images from the embedded store, thumbnails PUT back: the realistic case.
    Mixed,
}

impl Workload {
    /// Every workload, in report order.
    pub const ALL: [Workload; 3] = [Workload::Cpu, Workload::Io, Workload::Mixed];

    /// The workload's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Cpu => "cpu",
            Workload::Io => "io",
            Workload::Mixed => "mixed",
        }
    }

    /// The corpus the workload uses, with `count` images.
    pub fn corpus(self, count: usize) -> CorpusSpec {
        let spec = match self {
            Workload::Io => CorpusSpec::small(),
            Workload::Cpu | Workload::Mixed => CorpusSpec::default_photos(),
        };
        CorpusSpec {
            count,
            png: spec.png.min(count),
            ..spec
        }
    }
}
