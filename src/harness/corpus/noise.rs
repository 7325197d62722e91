//! Value noise: smooth random fields, the blobs of light and the grain of materials.

use super::colour::{mix, smoothstep};
use super::random::SplitMix64;

/// Value noise: random values on a grid of square cells, blended smoothly between the
/// grid points. `N` is the number of channels: 3 for coloured blobs, 1 for brightness.
///
/// This is the cheap cousin of Perlin noise. Per pixel it costs one blend of two
/// values: the blend weights of each column are computed once, and for each image row
/// the grid is first blended down to one row of values.
pub(super) struct ValueNoise<const N: usize> {
    /// The side of a cell, in pixels.
    cell: f32,
    /// Grid points per grid row, and grid rows.
    columns: usize,
    rows: usize,
    /// The random values at the grid points, row by row.
    grid: Vec<[f32; N]>,
    /// For each pixel column: the grid column to its left, and the weight of the next.
    column_blend: Vec<(usize, f32)>,
    /// Scratch space: the grid blended to the current image row.
    row_values: Vec<[f32; N]>,
}

impl<const N: usize> ValueNoise<N> {
    /// A field for a `width` x `height` picture, with `cell`-pixel cells and values in
    /// `±amplitude`.
    pub(super) fn random(
        width: usize,
        height: usize,
        cell: f32,
        amplitude: f32,
        rng: &mut SplitMix64,
    ) -> Self {
        let cell = cell.max(1.0);
        // One grid point at each cell corner, plus one so the last cell has a far edge.
        let columns = (width as f32 / cell) as usize + 2;
        let rows = (height as f32 / cell) as usize + 2;
        let grid = (0..columns * rows)
            .map(|_| std::array::from_fn(|_| rng.range(-amplitude, amplitude)))
            .collect();
        let column_blend = (0..width)
            .map(|x| split(x as f32 / cell, columns))
            .collect();
        Self {
            cell,
            columns,
            rows,
            grid,
            column_blend,
            row_values: vec![[0.0; N]; columns],
        }
    }

    /// Adds row `y` of the field to `row`.
    pub(super) fn add_row(&mut self, y: usize, row: &mut [[f32; N]]) {
        let (j, ty) = split(y as f32 / self.cell, self.rows);
        let (upper, lower) = (j * self.columns, (j + 1) * self.columns);
        for (i, value) in self.row_values.iter_mut().enumerate() {
            *value = mix(self.grid[upper + i], self.grid[lower + i], ty);
        }
        for (pixel, &(i, tx)) in row.iter_mut().zip(&self.column_blend) {
            let noise = mix(self.row_values[i], self.row_values[i + 1], tx);
            for (channel, n) in pixel.iter_mut().zip(noise) {
                *channel += n;
            }
        }
    }
}

/// Splits a grid coordinate into the cell to its left (or above) and a smoothed weight
/// for the next one. The cell is kept at most `cells - 2`, so `cell + 1` is in the grid.
fn split(position: f32, cells: usize) -> (usize, f32) {
    let cell = (position.floor() as usize).min(cells - 2);
    (cell, smoothstep(position - cell as f32))
}
