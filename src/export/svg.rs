//! Inline SVG line charts for the HTML report, written by hand: no plotting library, no fonts to
//! load, nothing fetched. Every label passes through [`esc`].

use std::fmt::Write as _;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 70.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 48.0;
/// Above this many points a series is drawn as a bare line (no hover dots).
const MAX_DOTS: usize = 300;

/// A series drawn with more points than this is thinned to a lowest and a highest point per
/// column of the plot ([`min_max_per_column`]): the plot is about 820 pixels wide.
const MAX_COLUMNS: usize = 820;

/// Thin `points` (in x order) to at most two per column when there are more than
/// `2 * columns`: in each column (`column_of(x)`, a pixel position, floored) the points with the
/// lowest and the highest y, in x order. The first and last points are kept; a spike in any
/// window stays on the line.
pub fn min_max_per_column(
    points: &[(f64, f64)],
    column_of: impl Fn(f64) -> f64,
    columns: usize,
) -> Vec<(f64, f64)> {
    if points.len() <= 2 * columns {
        return points.to_vec();
    }
    let mut out: Vec<(f64, f64)> = Vec::with_capacity(2 * columns + 2);
    let mut i = 0;
    while i < points.len() {
        let col = column_of(points[i].0).floor();
        let (mut lo, mut hi) = (i, i);
        let mut j = i + 1;
        while j < points.len() && column_of(points[j].0).floor() == col {
            if points[j].1 < points[lo].1 {
                lo = j;
            }
            if points[j].1 > points[hi].1 {
                hi = j;
            }
            j += 1;
        }
        let (a, b) = (lo.min(hi), lo.max(hi));
        out.push(points[a]);
        if b != a {
            out.push(points[b]);
        }
        i = j;
    }
    if out.last() != points.last() {
        out.push(points[points.len() - 1]);
    }
    if out.first() != points.first() {
        out.insert(0, points[0]);
    }
    out
}

/// A card's value in milliseconds, or `-` when nothing was measured.
pub fn ms_card(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.3} ms"))
}

/// Escape text for HTML and SVG (element content and quoted attributes).
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of a chart.
pub struct Line {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
}

/// A line chart with an optional second y axis on the right.
pub struct Chart {
    /// `id` of the `<svg>` element.
    pub id: &'static str,
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub lines: Vec<Line>,
    /// Label and lines measured on the right axis.
    pub right: Option<(String, Vec<Line>)>,
    /// Fixed x ticks (position, label); evenly spaced numbers when `None`.
    pub x_ticks: Option<Vec<(f64, String)>>,
}

impl Chart {
    /// The chart as an `<svg>` element.
    pub fn render(&self) -> String {
        let mut all = self.lines.iter().collect::<Vec<_>>();
        if let Some((_, r)) = &self.right {
            all.extend(r.iter());
        }
        let xs = all.iter().flat_map(|l| l.points.iter().map(|p| p.0));
        let (x_min, x_max) = min_max(xs).unwrap_or((0.0, 1.0));
        let x_max = if x_max > x_min { x_max } else { x_min + 1.0 };
        let y_top = axis_top(self.lines.iter().flat_map(|l| &l.points).map(|p| p.1));
        let right_top = self
            .right
            .as_ref()
            .map(|(_, r)| axis_top(r.iter().flat_map(|l| &l.points).map(|p| p.1)));

        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let sx = |x: f64| LEFT + (x - x_min) / (x_max - x_min) * plot_w;
        let sy = |y: f64, top: f64| TOP + plot_h - (y / top).clamp(0.0, 1.05) * plot_h;

        let mut s = String::new();
        let _ = write!(
            s,
            r#"<svg id="{}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}">"#,
            self.id,
            esc(&self.title)
        );
        let _ = write!(
            s,
            r##"<title>{}</title><rect x="0" y="0" width="{WIDTH}" height="{HEIGHT}" fill="#fff"/>"##,
            esc(&self.title)
        );
        let _ = write!(
            s,
            r#"<text x="{LEFT}" y="22" class="ct">{}</text>"#,
            esc(&self.title)
        );
        // Horizontal grid and left axis labels.
        let ticks = 5;
        for i in 0..=ticks {
            let v = y_top * i as f64 / ticks as f64;
            let y = sy(v, y_top);
            let _ = write!(
                s,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e3e3e3"/><text x="{:.1}" y="{:.1}" text-anchor="end" class="tk">{}</text>"##,
                WIDTH - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                tick_label(v)
            );
            if let Some(rt) = right_top {
                let _ = write!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" class="tk">{}</text>"#,
                    WIDTH - RIGHT + 6.0,
                    y + 4.0,
                    tick_label(rt * i as f64 / ticks as f64)
                );
            }
        }
        // X ticks.
        let x_ticks = self.x_ticks.clone().unwrap_or_else(|| {
            let step = nice_step((x_max - x_min) / 8.0);
            let mut t = Vec::new();
            let mut v = (x_min / step).ceil() * step;
            while v <= x_max + step * 1e-9 {
                t.push((v, tick_label(v)));
                v += step;
            }
            t
        });
        for (v, label) in &x_ticks {
            let x = sx(*v);
            let _ = write!(
                s,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="#999"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" class="tk">{}</text>"##,
                TOP + plot_h,
                TOP + plot_h + 5.0,
                TOP + plot_h + 18.0,
                esc(label)
            );
        }
        // Axes and their labels.
        let _ = write!(
            s,
            r##"<path d="M{LEFT} {TOP}V{:.1}H{:.1}" fill="none" stroke="#555"/>"##,
            TOP + plot_h,
            WIDTH - RIGHT
        );
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="al">{}</text>"#,
            LEFT + plot_w / 2.0,
            HEIGHT - 8.0,
            esc(&self.x_label)
        );
        let _ = write!(
            s,
            r#"<text transform="translate(16 {:.1}) rotate(-90)" text-anchor="middle" class="al">{}</text>"#,
            TOP + plot_h / 2.0,
            esc(&self.y_label)
        );
        if let Some((label, _)) = &self.right {
            let _ = write!(
                s,
                r#"<text transform="translate({:.1} {:.1}) rotate(90)" text-anchor="middle" class="al">{}</text>"#,
                WIDTH - 14.0,
                TOP + plot_h / 2.0,
                esc(label)
            );
        }
        if all.iter().all(|l| l.points.is_empty()) {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="al">no data</text>"#,
                LEFT + plot_w / 2.0,
                TOP + plot_h / 2.0
            );
        }
        // The lines, then the legend.
        let mut draw = |line: &Line, top: f64| {
            if line.points.is_empty() {
                return;
            }
            // A long run's thousands of windows: at most a lowest and a highest point per
            // pixel column, so that the file stays small and every spike stays visible.
            let pts: Vec<String> = min_max_per_column(&line.points, sx, MAX_COLUMNS)
                .into_iter()
                .map(|(x, y)| format!("{:.1},{:.1}", sx(x), sy(y, top)))
                .collect();
            let dash = if line.dashed {
                r#" stroke-dasharray="6 4""#
            } else {
                ""
            };
            let _ = write!(
                s,
                r#"<polyline class="series" fill="none" stroke="{}" stroke-width="2"{dash} points="{}"><title>{}</title></polyline>"#,
                line.color,
                pts.join(" "),
                esc(&line.name)
            );
            if line.points.len() <= MAX_DOTS {
                for &(x, y) in &line.points {
                    let _ = write!(
                        s,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="2.5" fill="{}"><title>{}: {} at {}</title></circle>"#,
                        sx(x),
                        sy(y, top),
                        line.color,
                        esc(&line.name),
                        tick_label(y),
                        tick_label(x)
                    );
                }
            }
        };
        for line in &self.lines {
            draw(line, y_top);
        }
        if let (Some((_, r)), Some(rt)) = (&self.right, right_top) {
            for line in r {
                draw(line, rt);
            }
        }
        let mut lx = LEFT + plot_w;
        for line in all.iter().rev() {
            lx -= 14.0 + 7.0 * line.name.chars().count() as f64 + 16.0;
            let _ = write!(
                s,
                r#"<rect x="{lx:.1}" y="13" width="14" height="4" fill="{}"/><text x="{:.1}" y="20" class="lg">{}</text>"#,
                line.color,
                lx + 18.0,
                esc(&line.name)
            );
        }
        s.push_str("</svg>");
        s
    }
}

fn min_max(values: impl Iterator<Item = f64>) -> Option<(f64, f64)> {
    values.fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// Top of a y axis that starts at 0: a round number at or above every value.
fn axis_top(values: impl Iterator<Item = f64>) -> f64 {
    let max = values.fold(0.0f64, f64::max);
    if max <= 0.0 {
        return 1.0;
    }
    let step = nice_step(max / 5.0);
    (max / step).ceil() * step
}

/// 1, 2, 2.5 or 5 times a power of ten, at or above `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw <= 0.0 || !raw.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 2.5 {
        2.5
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

/// A tick value without noise digits.
fn tick_label(v: f64) -> String {
    let a = v.abs();
    let text = if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    /// 86,400 points thinned to two per column: the spikes (a single high and a single low
    /// point among them) survive, the ends are kept, x stays in order.
    #[test]
    fn thinning_keeps_every_spike_and_both_ends() {
        let mut pts: Vec<(f64, f64)> = (0..86_400).map(|i| (i as f64, 100.0)).collect();
        pts[12_345].1 = 9_000.0;
        pts[70_001].1 = 1.0;
        let thin = super::min_max_per_column(&pts, |x| x / 86_400.0 * 820.0, 820);
        assert!(thin.len() <= 2 * 820 + 2, "{} points", thin.len());
        assert!(thin.contains(&(12_345.0, 9_000.0)));
        assert!(thin.contains(&(70_001.0, 1.0)));
        assert_eq!(thin.first(), pts.first());
        assert_eq!(thin.last(), pts.last());
        assert!(thin.windows(2).all(|w| w[0].0 < w[1].0));
        // Few points: unchanged.
        assert_eq!(
            super::min_max_per_column(&pts[..100], |x| x, 820),
            &pts[..100]
        );
    }

    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(axis_top([0.0, 7.3].into_iter()), 8.0);
        assert_eq!(axis_top([930.0].into_iter()), 1000.0);
        assert_eq!(axis_top(std::iter::empty()), 1.0);
        assert_eq!(nice_step(0.3), 0.5);
        assert_eq!(tick_label(2.50), "2.5");
        assert_eq!(tick_label(1200.0), "1200");
    }

    #[test]
    fn chart_labels_are_escaped() {
        let c = Chart {
            id: "t",
            title: "<b>".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            lines: vec![Line {
                name: "<i>".into(),
                color: "#000",
                points: vec![(1.0, 2.0), (2.0, 3.0)],
                dashed: false,
            }],
            right: None,
            x_ticks: None,
        };
        let svg = c.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<b>") && !svg.contains("<i>"));
        assert!(svg.contains("&lt;i&gt;") && svg.contains("<polyline"));
    }
}
