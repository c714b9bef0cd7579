//! Charts of a site's figures over time, drawn on the server as SVG (no
//! script), each with its data table as the accessible alternative.

use veille_domain::Timestamp;

/// Width and height of the drawing, in SVG units.
const W: f64 = 320.0;
const H: f64 = 120.0;
const PAD_LEFT: f64 = 34.0;
const PAD_BOTTOM: f64 = 20.0;
const PAD_TOP: f64 = 10.0;
const PAD_RIGHT: f64 = 10.0;

/// One point of a chart.
#[derive(Clone, Debug)]
pub struct Point {
    /// x in the drawing.
    pub x: String,
    /// y in the drawing.
    pub y: String,
    /// The date shown in the table and the tooltip.
    pub label: String,
    /// The value.
    pub value: i64,
}

/// A chart of one figure.
#[derive(Clone, Debug)]
pub struct Chart {
    /// Stable id (for `aria-labelledby`).
    pub id: String,
    /// Message key of the figure's name.
    pub key: String,
    /// The polyline's points attribute.
    pub polyline: String,
    /// Points.
    pub points: Vec<Point>,
    /// Largest value (top of the axis).
    pub max: i64,
    /// y of the top gridline.
    pub top: String,
    /// y of the base line.
    pub base: String,
    /// x of the left axis.
    pub left: String,
    /// x of the right end.
    pub right: String,
    /// Label of the first date.
    pub first: String,
    /// Label of the last date.
    pub last: String,
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// Draws `values` (instant, value), oldest first. Points are spaced by time.
pub fn chart(id: &str, key: &str, values: &[(Timestamp, i64)]) -> Chart {
    let max = values.iter().map(|v| v.1).max().unwrap_or(0).max(1);
    let (t0, t1) = match (values.first(), values.last()) {
        (Some(a), Some(b)) => (a.0.as_micros(), b.0.as_micros()),
        _ => (0, 0),
    };
    let span = (t1 - t0).max(1) as f64;
    let plot_w = W - PAD_LEFT - PAD_RIGHT;
    let plot_h = H - PAD_TOP - PAD_BOTTOM;
    let points: Vec<Point> = values
        .iter()
        .map(|(t, v)| {
            let x = if values.len() == 1 { PAD_LEFT + plot_w / 2.0 } else { PAD_LEFT + plot_w * ((t.as_micros() - t0) as f64 / span) };
            let y = PAD_TOP + plot_h * (1.0 - *v as f64 / max as f64);
            Point { x: fmt(x), y: fmt(y), label: t.to_paris_display(), value: *v }
        })
        .collect();
    Chart {
        id: id.to_owned(),
        key: key.to_owned(),
        polyline: points.iter().map(|p| format!("{},{}", p.x, p.y)).collect::<Vec<_>>().join(" "),
        max,
        top: fmt(PAD_TOP),
        base: fmt(H - PAD_BOTTOM),
        left: fmt(PAD_LEFT),
        right: fmt(W - PAD_RIGHT),
        first: points.first().map(|p| p.label[..10].to_owned()).unwrap_or_default(),
        last: points.last().map(|p| p.label[..10].to_owned()).unwrap_or_default(),
        points,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_placed_by_time_and_value() {
        let t = Timestamp::from_micros(1_795_000_000_000_000);
        let c = chart("people", "site.figure.people", &[(t, 10), (t.plus_seconds(86_400), 5), (t.plus_seconds(2 * 86_400), 0)]);
        assert_eq!(c.max, 10);
        assert_eq!(c.points.len(), 3);
        // First at the left axis and the top, last at the right end and the base.
        assert_eq!((c.points[0].x.as_str(), c.points[0].y.as_str()), ("34.0", "10.0"));
        assert_eq!((c.points[2].x.as_str(), c.points[2].y.as_str()), ("310.0", "100.0"));
        assert_eq!(c.points[1].x, "172.0");
        assert_eq!(c.polyline.split(' ').count(), 3);
        let one = chart("x", "k", &[(t, 0)]);
        assert_eq!(one.max, 1);
        assert_eq!(one.points[0].x, "172.0");
    }
}
