//! The documents veille hands out — a meeting's minutes, an activity report,
//! the export of a person's data on an access request — written once in a
//! simple model ([`Document`]: a title, then headings, paragraphs, key/value
//! lists and tables) and rendered as plain text (mails, the printable page)
//! or as PDF ([`Document::to_pdf`]).
//!
//! The PDF is A4, embeds the subset of DejaVu Sans it uses (every Latin
//! letter with its accents, Romanian, Cyrillic, Greek…; its licence is in
//! `fonts/LICENSE.txt`), so the text is drawn the same everywhere and can be
//! copied and searched; it is tagged (headings, paragraphs, lists and tables
//! in reading order, page footers as artifacts) for screen readers, and
//! carries its title and language. Glyphs are placed one per character from
//! the font's advances (no shaping: no ligatures, kerning or right-to-left
//! reordering). The crate knows nothing of veille's records: whoever builds a
//! document decides what the reader may see.

use std::fmt::Write as _;
use std::num::NonZeroU16;

use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;
use krilla::tagging::{Artifact, ArtifactType, ContentTag, Identifier, ListNumbering, Node, SpanTag, TableHeaderScope, Tag, TagGroup, TagKind, TagTree};
use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::MetadataProvider;

static REGULAR: &[u8] = include_bytes!("../fonts/DejaVuSans.ttf");
static BOLD: &[u8] = include_bytes!("../fonts/DejaVuSans-Bold.ttf");

/// A document: a title and its blocks, in reading order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    /// The title (the first heading, and the PDF's title).
    pub title: String,
    /// Its language, as a BCP 47 tag (`fr`, `en`).
    pub lang: String,
    /// What it holds.
    pub blocks: Vec<Block>,
    /// A line at the foot of every PDF page, before the page number (empty: the number alone).
    pub footer: String,
}

/// A block of a document.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// A section's heading.
    Heading(String),
    /// A paragraph (its line breaks are kept).
    Paragraph(String),
    /// A list of labelled values (`Lieu : Local CAARUD`).
    Facts(Vec<(String, String)>),
    /// A table: its column headings and its rows.
    Table {
        /// The column headings.
        columns: Vec<String>,
        /// The rows, as many cells each as there are columns.
        rows: Vec<Vec<String>>,
    },
    /// A bar chart: its caption and its bars (label, value; none: not shown).
    /// Drawn as a decoration: the data go in a table beside it.
    Chart {
        /// What it shows.
        caption: String,
        /// The bars, in order.
        bars: Vec<(String, Option<i64>)>,
    },
}

/// A bar of a chart placed in a drawing of `CHART_W` × `CHART_H` units.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height (0 for a bar not shown).
    pub h: f32,
    /// Its label.
    pub label: String,
}

/// Width of a chart's drawing.
pub const CHART_W: f32 = 480.0;
/// Height of a chart's bars area (labels go below).
pub const CHART_H: f32 = 90.0;

/// The bars of a chart, scaled to its drawing: evenly spaced, as high as
/// their share of the largest value.
pub fn chart_bars(bars: &[(String, Option<i64>)]) -> Vec<Bar> {
    let max = bars.iter().filter_map(|b| b.1).max().unwrap_or(0).max(1) as f32;
    let slot = CHART_W / bars.len().max(1) as f32;
    bars.iter()
        .enumerate()
        .map(|(i, (label, v))| {
            let h = v.map(|v| CHART_H * v.max(0) as f32 / max).unwrap_or(0.0);
            Bar { x: i as f32 * slot + slot * 0.15, y: CHART_H - h, w: slot * 0.7, h, label: label.clone() }
        })
        .collect()
}

/// What went wrong while drawing a PDF.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The embedded font could not be read (never with the fonts of the crate).
    #[error("the embedded font could not be read")]
    Font,
    /// The PDF writer refused the document.
    #[error("the PDF could not be written: {0}")]
    Render(String),
}

impl Document {
    /// An empty document with its title, in a language (`fr`, `en`).
    pub fn new(title: impl Into<String>, lang: &str) -> Self {
        Document { title: title.into(), lang: lang.to_owned(), blocks: Vec::new(), footer: String::new() }
    }

    /// Adds a heading.
    pub fn heading(&mut self, text: impl Into<String>) -> &mut Self {
        self.blocks.push(Block::Heading(text.into()));
        self
    }

    /// Adds a paragraph (nothing when it is blank).
    pub fn paragraph(&mut self, text: impl Into<String>) -> &mut Self {
        let text = text.into();
        if !text.trim().is_empty() {
            self.blocks.push(Block::Paragraph(text));
        }
        self
    }

    /// Adds labelled values (nothing when there is none).
    pub fn facts<K: Into<String>, V: Into<String>>(&mut self, facts: impl IntoIterator<Item = (K, V)>) -> &mut Self {
        let facts: Vec<(String, String)> = facts.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
        if !facts.is_empty() {
            self.blocks.push(Block::Facts(facts));
        }
        self
    }

    /// Adds a table (nothing without rows); short rows are completed with empty cells.
    pub fn table(&mut self, columns: Vec<String>, rows: Vec<Vec<String>>) -> &mut Self {
        if !rows.is_empty() && !columns.is_empty() {
            let n = columns.len();
            let rows = rows
                .into_iter()
                .map(|mut r| {
                    r.resize(n, String::new());
                    r
                })
                .collect();
            self.blocks.push(Block::Table { columns, rows });
        }
        self
    }

    /// Adds a bar chart (nothing without bars).
    pub fn chart(&mut self, caption: impl Into<String>, bars: Vec<(String, Option<i64>)>) -> &mut Self {
        if !bars.is_empty() {
            self.blocks.push(Block::Chart { caption: caption.into(), bars });
        }
        self
    }

    /// Sets the line at the foot of every PDF page.
    pub fn footer(&mut self, text: impl Into<String>) -> &mut Self {
        self.footer = text.into();
        self
    }

    /// The separator between a label and its value in this language
    /// (French puts a space before the colon).
    fn colon(&self) -> &'static str {
        if self.lang.starts_with("fr") {
            " : "
        } else {
            ": "
        }
    }

    /// The document as plain text: the title, then each block (a heading
    /// after a blank line, a value after its label, a table's cells separated
    /// by ` · `).
    pub fn to_text(&self) -> String {
        let mut out = format!("{}\n", self.title);
        for b in &self.blocks {
            match b {
                Block::Heading(h) => {
                    let _ = write!(out, "\n{h}\n");
                }
                Block::Paragraph(p) => {
                    let _ = writeln!(out, "{p}");
                }
                Block::Facts(facts) => {
                    for (k, v) in facts {
                        let _ = writeln!(out, "{k}{}{v}", self.colon());
                    }
                }
                Block::Chart { caption, bars } => {
                    let shown: Vec<String> =
                        bars.iter().map(|(k, v)| format!("{k}{}{}", self.colon(), v.map(|v| v.to_string()).unwrap_or_else(|| "—".into()))).collect();
                    let _ = writeln!(out, "{caption}\n{}", shown.join(" · "));
                }
                Block::Table { columns, rows } => {
                    let _ = writeln!(out, "{}", columns.join(" · "));
                    for r in rows {
                        let _ = writeln!(out, "{}", r.join(" · "));
                    }
                }
            }
        }
        out
    }

    /// The document as a tagged A4 PDF with its font embedded.
    pub fn to_pdf(&self) -> Result<Vec<u8>, Error> {
        let fonts = Fonts::load()?;
        let mut layout = Layout::new(&fonts);
        let tree = layout.document(self);
        render(self, &fonts, layout, tree)
    }
}

// ---------------------------------------------------------------- layout

const PAGE_W: f32 = 595.276;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 56.7;
const BOTTOM: f32 = PAGE_H - 64.0;
const FOOTER_Y: f32 = PAGE_H - 34.0;
const BODY: f32 = 10.0;
const BODY_LH: f32 = 14.0;
const TITLE: f32 = 17.0;
const TITLE_LH: f32 = 22.0;
const HEAD: f32 = 12.5;
const HEAD_LH: f32 = 17.0;
const SMALL: f32 = 8.0;
const PAD: f32 = 4.0;
const GREY_TEXT: u8 = 90;
const GREY_FILL: u8 = 235;
const GREY_RULE: u8 = 190;
/// A chart's drawing units to points (480 units fill the text width).
const CHART_SCALE: f32 = (PAGE_W - 2.0 * MARGIN) / CHART_W;

/// A font: krilla's handle to embed it, and its character map and advances to place glyphs.
struct Face {
    font: Font,
    charmap: skrifa::charmap::Charmap<'static>,
    metrics: skrifa::metrics::GlyphMetrics<'static>,
    units_per_em: f32,
}

impl Face {
    fn load(data: &'static [u8]) -> Result<Self, Error> {
        let skr = skrifa::FontRef::new(data).map_err(|_| Error::Font)?;
        Ok(Face {
            font: Font::new(data.into(), 0).ok_or(Error::Font)?,
            charmap: skr.charmap(),
            metrics: skr.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em: f32::from(skr.metrics(Size::unscaled(), LocationRef::default()).units_per_em.max(1)),
        })
    }

    /// The glyphs of `text`, one per character, with their advances (in ems)
    /// and the text each stands for. No shaping: no ligatures nor kerning,
    /// which the Latin, Cyrillic and Greek text of veille's documents does
    /// without; a character the font lacks is drawn as its missing glyph and
    /// still extracted as itself.
    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(i, c)| {
                let gid = self.charmap.map(c).unwrap_or_default();
                let advance = self.metrics.advance_width(gid).unwrap_or(0.0) / self.units_per_em;
                KrillaGlyph::new(GlyphId::new(gid.to_u32()), advance, 0.0, 0.0, 0.0, i..i + c.len_utf8(), None)
            })
            .collect()
    }

    fn advance(&self, c: char) -> f32 {
        let gid = self.charmap.map(c).unwrap_or_default();
        self.metrics.advance_width(gid).unwrap_or(0.0) / self.units_per_em
    }
}

struct Fonts {
    regular: Face,
    bold: Face,
}

impl Fonts {
    fn load() -> Result<Self, Error> {
        Ok(Fonts { regular: Face::load(REGULAR)?, bold: Face::load(BOLD)? })
    }

    fn face(&self, bold: bool) -> &Face {
        if bold {
            &self.bold
        } else {
            &self.regular
        }
    }

    /// The width of `text` at `size`.
    fn width(&self, text: &str, bold: bool, size: f32) -> f32 {
        let face = self.face(bold);
        text.chars().map(|c| face.advance(c)).sum::<f32>() * size
    }

    /// `text` broken into lines no wider than `width` (its own line breaks
    /// kept; a word longer than a line is cut).
    fn wrap(&self, text: &str, bold: bool, size: f32, width: f32) -> Vec<String> {
        let space = self.width(" ", bold, size);
        let mut lines = Vec::new();
        for hard in text.split('\n') {
            let mut line = String::new();
            let mut used = 0.0;
            for word in hard.split_whitespace() {
                let w = self.width(word, bold, size);
                if line.is_empty() && w <= width {
                    line.push_str(word);
                    used = w;
                } else if !line.is_empty() && used + space + w <= width {
                    line.push(' ');
                    line.push_str(word);
                    used += space + w;
                } else {
                    if !line.is_empty() {
                        lines.push(std::mem::take(&mut line));
                    }
                    if w <= width {
                        line.push_str(word);
                        used = w;
                    } else {
                        // A word wider than the line: cut it where it stops fitting.
                        let mut piece = String::new();
                        for c in word.chars() {
                            piece.push(c);
                            if self.width(&piece, bold, size) > width && piece.chars().count() > 1 {
                                piece.pop();
                                lines.push(std::mem::take(&mut piece));
                                piece.push(c);
                            }
                        }
                        used = self.width(&piece, bold, size);
                        line = piece;
                    }
                }
            }
            lines.push(line);
        }
        lines
    }
}

/// What is drawn.
enum Draw {
    Text { x: f32, y: f32, size: f32, bold: bool, grey: bool, text: String },
    Fill { x: f32, y: f32, w: f32, h: f32 },
    Bar { x: f32, y: f32, w: f32, h: f32 },
    Rule { x1: f32, x2: f32, y: f32 },
}

/// One drawing on a page, with the leaf of the tag tree it belongs to (none: an artifact).
struct Op {
    leaf: Option<usize>,
    draw: Draw,
}

/// The semantic structure, in reading order; leaves are numbered pieces of one page.
enum TNode {
    Group(TSpec, Vec<TNode>),
    Leaf(usize),
}

#[derive(Clone, Copy)]
enum TSpec {
    Title,
    H2,
    P,
    List,
    Item,
    Label,
    Body,
    Table,
    Row,
    HeaderCell,
    Cell,
}

/// A cell of a row being laid out: its left edge, its lines and their style.
struct Cell {
    x: f32,
    lines: Vec<String>,
    size: f32,
    bold: bool,
}

struct Layout<'f> {
    fonts: &'f Fonts,
    pages: Vec<Vec<Op>>,
    y: f32,
    leaves: usize,
}

impl<'f> Layout<'f> {
    fn new(fonts: &'f Fonts) -> Self {
        Layout { fonts, pages: vec![Vec::new()], y: MARGIN, leaves: 0 }
    }

    fn width() -> f32 {
        PAGE_W - 2.0 * MARGIN
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = MARGIN;
    }

    fn push(&mut self, leaf: Option<usize>, draw: Draw) {
        self.pages.last_mut().expect("a page").push(Op { leaf, draw });
    }

    /// Whether `height` more fits on the page (a fresh page always takes it).
    fn fits(&self, height: f32) -> bool {
        self.y + height <= BOTTOM || self.y <= MARGIN
    }

    /// Lays out a row of cells line by line, across pages when it must; each
    /// cell's piece on each page is a leaf. `line_height` is the height of
    /// one line; `on_new_page` draws what a continued row needs first (a
    /// table's header, as an artifact). Returns each cell's leaves.
    fn row(&mut self, cells: &[Cell], line_height: f32, header: bool, on_new_page: &dyn Fn(&mut Self)) -> Vec<Vec<usize>> {
        let n = cells.iter().map(|c| c.lines.len()).max().unwrap_or(0).max(1);
        let mut out = vec![Vec::new(); cells.len()];
        let mut done = 0;
        while done < n {
            let room = ((BOTTOM - self.y) / line_height).floor().max(0.0) as usize;
            if room == 0 {
                self.new_page();
                on_new_page(self);
                continue;
            }
            let k = room.min(n - done);
            let top = self.y;
            if header {
                self.push(None, Draw::Fill { x: MARGIN, y: top, w: Self::width(), h: k as f32 * line_height + PAD });
            }
            for (i, c) in cells.iter().enumerate() {
                let part: Vec<&String> = c.lines.iter().skip(done).take(k).collect();
                if part.is_empty() {
                    continue;
                }
                let leaf = self.leaves;
                self.leaves += 1;
                out[i].push(leaf);
                for (j, line) in part.into_iter().enumerate() {
                    let y = top + (j as f32 + 0.78) * line_height;
                    self.push(Some(leaf), Draw::Text { x: c.x, y, size: c.size, bold: c.bold, grey: false, text: line.clone() });
                }
            }
            self.y = top + k as f32 * line_height;
            done += k;
            if done < n {
                self.new_page();
                on_new_page(self);
            }
        }
        out
    }

    fn leaves_of(ids: Vec<usize>) -> Vec<TNode> {
        ids.into_iter().map(TNode::Leaf).collect()
    }

    fn document(&mut self, doc: &Document) -> Vec<TNode> {
        let mut tree = Vec::new();
        let w = Self::width();
        let title = Cell { x: MARGIN, lines: self.fonts.wrap(&doc.title, true, TITLE, w), size: TITLE, bold: true };
        let ids = self.row(&[title], TITLE_LH, false, &|_| {}).remove(0);
        tree.push(TNode::Group(TSpec::Title, Self::leaves_of(ids)));
        self.y += 6.0;
        for (i, block) in doc.blocks.iter().enumerate() {
            match block {
                Block::Heading(h) => {
                    let lines = self.fonts.wrap(h, true, HEAD, w);
                    // A heading keeps with the start of what follows.
                    let next = if doc.blocks.get(i + 1).is_some() { 3.0 * BODY_LH } else { 0.0 };
                    if !self.fits(10.0 + lines.len() as f32 * HEAD_LH + next) {
                        self.new_page();
                    } else {
                        self.y += 10.0;
                    }
                    let ids = self.row(&[Cell { x: MARGIN, lines, size: HEAD, bold: true }], HEAD_LH, false, &|_| {}).remove(0);
                    tree.push(TNode::Group(TSpec::H2, Self::leaves_of(ids)));
                    self.y += 2.0;
                }
                Block::Paragraph(p) => {
                    let lines = self.fonts.wrap(p, false, BODY, w);
                    let ids = self.row(&[Cell { x: MARGIN, lines, size: BODY, bold: false }], BODY_LH, false, &|_| {}).remove(0);
                    tree.push(TNode::Group(TSpec::P, Self::leaves_of(ids)));
                    self.y += 5.0;
                }
                Block::Facts(facts) => {
                    let widest = facts.iter().map(|(k, _)| self.fonts.width(k, true, BODY)).fold(0.0, f32::max);
                    let key_w = (widest + 2.0 * PAD).min(w * 0.38);
                    let mut items = Vec::new();
                    for (k, v) in facts {
                        let cells = [
                            Cell { x: MARGIN, lines: self.fonts.wrap(k, true, BODY, key_w - 2.0 * PAD), size: BODY, bold: true },
                            Cell { x: MARGIN + key_w, lines: self.fonts.wrap(v, false, BODY, w - key_w), size: BODY, bold: false },
                        ];
                        let mut ids = self.row(&cells, BODY_LH, false, &|_| {});
                        let body = ids.pop().unwrap_or_default();
                        let label = ids.pop().unwrap_or_default();
                        let mut item = Vec::new();
                        if !label.is_empty() {
                            item.push(TNode::Group(TSpec::Label, Self::leaves_of(label)));
                        }
                        if !body.is_empty() {
                            item.push(TNode::Group(TSpec::Body, Self::leaves_of(body)));
                        }
                        items.push(TNode::Group(TSpec::Item, item));
                        self.y += 2.0;
                    }
                    tree.push(TNode::Group(TSpec::List, items));
                    self.y += 4.0;
                }
                Block::Table { columns, rows } => tree.push(self.table(columns, rows)),
                Block::Chart { caption, bars } => {
                    // The caption is text; the bars a decoration (their data are in the table beside).
                    let lines = self.fonts.wrap(caption, true, BODY, w);
                    if !self.fits(lines.len() as f32 * BODY_LH + CHART_H * CHART_SCALE + 2.0 * BODY_LH) {
                        self.new_page();
                    }
                    let ids = self.row(&[Cell { x: MARGIN, lines, size: BODY, bold: true }], BODY_LH, false, &|_| {}).remove(0);
                    tree.push(TNode::Group(TSpec::P, Self::leaves_of(ids)));
                    let top = self.y + 4.0;
                    for b in chart_bars(bars) {
                        if b.h > 0.0 {
                            self.push(
                                None,
                                Draw::Bar { x: MARGIN + b.x * CHART_SCALE, y: top + b.y * CHART_SCALE, w: b.w * CHART_SCALE, h: b.h * CHART_SCALE },
                            );
                        }
                        let label: String = b.label.chars().rev().take(2).collect::<Vec<_>>().into_iter().rev().collect();
                        self.push(
                            None,
                            Draw::Text {
                                x: MARGIN + b.x * CHART_SCALE,
                                y: top + CHART_H * CHART_SCALE + SMALL + 2.0,
                                size: SMALL,
                                bold: false,
                                grey: true,
                                text: label,
                            },
                        );
                    }
                    self.push(None, Draw::Rule { x1: MARGIN, x2: MARGIN + CHART_W * CHART_SCALE, y: top + CHART_H * CHART_SCALE });
                    self.y = top + CHART_H * CHART_SCALE + SMALL + 10.0;
                }
            }
        }
        tree
    }

    /// Column widths: what each column's longest cell needs on one line, or
    /// a fair share of what is left when they do not all fit.
    fn column_widths(&self, columns: &[String], rows: &[Vec<String>]) -> Vec<f32> {
        let w = Self::width();
        let n = columns.len();
        let want: Vec<f32> = (0..n)
            .map(|i| {
                let head = self.fonts.width(&columns[i], true, BODY);
                rows.iter().map(|r| self.fonts.width(&r[i], false, BODY)).fold(head, f32::max) + 2.0 * PAD + 1.0
            })
            .collect();
        let total: f32 = want.iter().sum();
        if total <= w {
            let extra = (w - total) / n as f32;
            return want.iter().map(|x| x + extra).collect();
        }
        // Narrow columns keep what they want; the others share the rest by need.
        let fair = w / n as f32;
        let narrow: f32 = want.iter().filter(|x| **x <= fair).sum();
        let wide: f32 = want.iter().filter(|x| **x > fair).sum();
        want.iter().map(|x| if *x <= fair { *x } else { (w - narrow) * x / wide }).collect()
    }

    fn table(&mut self, columns: &[String], rows: &[Vec<String>]) -> TNode {
        let widths = self.column_widths(columns, rows);
        let xs: Vec<f32> = widths
            .iter()
            .scan(MARGIN, |x, w| {
                let at = *x;
                *x += w;
                Some(at)
            })
            .collect();
        let cells_of = |fonts: &Fonts, texts: &[String], bold: bool| -> Vec<Cell> {
            texts.iter().enumerate().map(|(i, t)| Cell { x: xs[i] + PAD, lines: fonts.wrap(t, bold, BODY, widths[i] - 2.0 * PAD), size: BODY, bold }).collect()
        };
        let head_cells = cells_of(self.fonts, columns, true);
        let head_lines = head_cells.iter().map(|c| c.lines.len()).max().unwrap_or(1) as f32;
        // A continued table draws its header again on the new page (an artifact: the tagged header is the first).
        let repeat = |l: &mut Self| {
            let top = l.y;
            l.push(None, Draw::Fill { x: MARGIN, y: top, w: Self::width(), h: head_lines * BODY_LH + PAD });
            for c in &head_cells {
                for (j, line) in c.lines.iter().enumerate() {
                    l.push(
                        None,
                        Draw::Text { x: c.x, y: top + PAD / 2.0 + (j as f32 + 0.78) * BODY_LH, size: BODY, bold: true, grey: false, text: line.clone() },
                    );
                }
            }
            l.y = top + head_lines * BODY_LH + PAD;
        };
        if !self.fits(head_lines * BODY_LH + PAD + 2.0 * BODY_LH) {
            self.new_page();
        }
        self.y += PAD / 2.0;
        let head_ids = self.row(&cells_of(self.fonts, columns, true), BODY_LH, true, &|_| {});
        self.y += PAD / 2.0;
        let mut out = vec![TNode::Group(TSpec::Row, head_ids.into_iter().map(|ids| TNode::Group(TSpec::HeaderCell, Self::leaves_of(ids))).collect())];
        for r in rows {
            self.y += PAD / 2.0;
            let ids = self.row(&cells_of(self.fonts, r, false), BODY_LH, false, &repeat);
            self.y += PAD / 2.0;
            self.push(None, Draw::Rule { x1: MARGIN, x2: MARGIN + Self::width(), y: self.y });
            out.push(TNode::Group(TSpec::Row, ids.into_iter().map(|ids| TNode::Group(TSpec::Cell, Self::leaves_of(ids))).collect()));
        }
        self.y += 8.0;
        TNode::Group(TSpec::Table, out)
    }
}

// ---------------------------------------------------------------- drawing

fn grey(level: u8) -> rgb::Color {
    rgb::Color::new(level, level, level)
}

fn draw(surface: &mut Surface<'_>, fonts: &Fonts, d: &Draw) {
    match d {
        Draw::Text { x, y, size, bold, grey: g, text } => {
            if text.is_empty() {
                return;
            }
            let color = if *g { grey(GREY_TEXT) } else { rgb::Color::black() };
            surface.set_fill(Some(Fill { paint: color.into(), ..Default::default() }));
            let face = fonts.face(*bold);
            surface.draw_glyphs(Point::from_xy(*x, *y), &face.glyphs(text), face.font.clone(), text, *size, false);
        }
        Draw::Fill { x, y, w, h } => {
            let mut pb = PathBuilder::new();
            if let Some(r) = Rect::from_xywh(*x, *y, *w, *h) {
                pb.push_rect(r);
            }
            if let Some(path) = pb.finish() {
                surface.set_fill(Some(Fill { paint: grey(GREY_FILL).into(), ..Default::default() }));
                surface.draw_path(&path);
            }
        }
        Draw::Bar { x, y, w, h } => {
            let mut pb = PathBuilder::new();
            if let Some(r) = Rect::from_xywh(*x, *y, *w, *h) {
                pb.push_rect(r);
            }
            if let Some(path) = pb.finish() {
                surface.set_fill(Some(Fill { paint: rgb::Color::new(31, 78, 121).into(), ..Default::default() }));
                surface.draw_path(&path);
            }
        }
        Draw::Rule { x1, x2, y } => {
            let mut pb = PathBuilder::new();
            pb.move_to(*x1, *y);
            pb.line_to(*x2, *y);
            if let Some(path) = pb.finish() {
                surface.set_fill(None);
                surface.set_stroke(Some(Stroke { paint: grey(GREY_RULE).into(), width: 0.5, ..Default::default() }));
                surface.draw_path(&path);
                surface.set_stroke(None);
            }
        }
    }
}

fn tag_of(spec: TSpec) -> TagKind {
    match spec {
        TSpec::Title => Tag::Hn(NonZeroU16::MIN, None).into(),
        TSpec::H2 => Tag::Hn(NonZeroU16::MIN.saturating_add(1), None).into(),
        TSpec::P => Tag::P.into(),
        TSpec::List => Tag::L(ListNumbering::None).into(),
        TSpec::Item => Tag::LI.into(),
        TSpec::Label => Tag::Lbl.into(),
        TSpec::Body => Tag::LBody.into(),
        TSpec::Table => Tag::Table.into(),
        TSpec::Row => Tag::TR.into(),
        TSpec::HeaderCell => Tag::TH(TableHeaderScope::Column).into(),
        TSpec::Cell => Tag::TD.into(),
    }
}

/// The tag tree's node, with each leaf's identifier taken once.
fn node(n: TNode, ids: &mut [Option<Identifier>]) -> Option<Node> {
    match n {
        TNode::Leaf(i) => ids.get_mut(i).and_then(Option::take).map(Node::from),
        TNode::Group(spec, children) => {
            let children: Vec<Node> = children.into_iter().filter_map(|c| node(c, ids)).collect();
            (!children.is_empty()).then(|| TagGroup::with_children(tag_of(spec), children).into())
        }
    }
}

fn render(doc: &Document, fonts: &Fonts, layout: Layout<'_>, tree: Vec<TNode>) -> Result<Vec<u8>, Error> {
    let mut pdf = krilla::Document::new();
    let mut ids: Vec<Option<Identifier>> = vec![None; layout.leaves];
    let count = layout.pages.len();
    for (n, ops) in layout.pages.iter().enumerate() {
        let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| Error::Render("page size".into()))?;
        let mut page = pdf.start_page_with(settings);
        let mut surface = page.surface();
        let mut i = 0;
        while i < ops.len() {
            let leaf = ops[i].leaf;
            let tag = match leaf {
                Some(_) => ContentTag::Span(SpanTag::empty()),
                None => ContentTag::Artifact(Artifact::with_kind(ArtifactType::Layout)),
            };
            let id = surface.start_tagged(tag);
            while i < ops.len() && ops[i].leaf == leaf {
                draw(&mut surface, fonts, &ops[i].draw);
                i += 1;
            }
            surface.end_tagged();
            if let Some(l) = leaf {
                ids[l] = Some(id);
            }
        }
        // The footer: the document's line and the page number.
        surface.start_tagged(ContentTag::Artifact(Artifact::with_kind(ArtifactType::PaginationOther)));
        let number = format!("{} / {count}", n + 1);
        let nw = fonts.width(&number, false, SMALL);
        draw(&mut surface, fonts, &Draw::Text { x: PAGE_W - MARGIN - nw, y: FOOTER_Y, size: SMALL, bold: false, grey: true, text: number });
        if !doc.footer.is_empty() {
            let room = PAGE_W - 2.0 * MARGIN - nw - 12.0;
            let line = fonts.wrap(&doc.footer, false, SMALL, room).into_iter().next().unwrap_or_default();
            draw(&mut surface, fonts, &Draw::Text { x: MARGIN, y: FOOTER_Y, size: SMALL, bold: false, grey: true, text: line });
        }
        surface.end_tagged();
        surface.finish();
        page.finish();
    }
    let mut root = TagTree::new().with_lang(Some(doc.lang.clone()));
    for n in tree {
        if let Some(n) = node(n, &mut ids) {
            root.push(n);
        }
    }
    pdf.set_tag_tree(root);
    pdf.set_metadata(Metadata::new().title(doc.title.clone()).language(doc.lang.clone()).creator("veille".into()));
    pdf.finish().map_err(|e| Error::Render(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minutes() -> Document {
        let mut d = Document::new("Compte rendu — Réunion des résidents", "fr");
        d.facts([("Date", "jeudi 10 décembre 2026, 18:30"), ("Lieu", "Salle polyvalente, rue Pajol")])
            .heading("Ordre du jour")
            .paragraph("Seringues dans la cour de l'immeuble ; passage de la maraude RdR le jeudi.\nDeuxième ligne.")
            .table(vec!["Public".into(), "Nombre".into()], vec![vec!["Riverains".into(), "14".into()], vec!["Bénévoles".into()]])
            .footer("veille — compte rendu");
        d
    }

    #[test]
    fn text_keeps_every_block_in_order_with_the_language_s_colon() {
        let text = minutes().to_text();
        assert!(text.starts_with("Compte rendu — Réunion des résidents\n"));
        assert!(text.contains("Lieu : Salle polyvalente"));
        assert!(text.contains("\nOrdre du jour\n"));
        assert!(text.contains("Riverains · 14\nBénévoles · \n"));
        let mut en = Document::new("Minutes", "en");
        en.facts([("Place", "Hall")]);
        assert!(en.to_text().contains("Place: Hall"));
    }

    #[test]
    fn blank_paragraphs_and_empty_lists_add_nothing() {
        let mut d = Document::new("T", "fr");
        d.paragraph("  ").facts(Vec::<(String, String)>::new()).table(vec!["A".into()], vec![]);
        assert!(d.blocks.is_empty());
    }

    #[test]
    fn lines_are_wrapped_to_the_width_and_long_words_cut() {
        let fonts = Fonts::load().unwrap();
        let text = "Une phrase assez longue pour tenir sur plusieurs lignes étroites, avec des accents : é è à ç œ.";
        let lines = fonts.wrap(text, false, BODY, 120.0);
        assert!(lines.len() > 2);
        assert!(lines.iter().all(|l| fonts.width(l, false, BODY) <= 120.0));
        assert_eq!(lines.join(" "), text);
        let cut = fonts.wrap(&"x".repeat(200), false, BODY, 50.0);
        assert!(cut.len() > 3 && cut.iter().all(|l| fonts.width(l, false, BODY) <= 50.0));
        assert_eq!(fonts.wrap("a\n\nb", false, BODY, 100.0), vec!["a", "", "b"]);
    }

    #[test]
    fn a_long_document_runs_over_several_pages_and_is_a_pdf() {
        let mut d = minutes();
        for i in 0..80 {
            d.paragraph(format!("Point {i} : la situation est suivie par l'équipe ; prochaine réunion dans quinze jours."));
        }
        let rows: Vec<Vec<String>> = (0..60).map(|i| vec![format!("Ligne {i}"), "Une cellule de texte assez longue pour passer à la ligne".into()]).collect();
        d.table(vec!["Nom".into(), "Détail".into()], rows);
        let fonts = Fonts::load().unwrap();
        let mut layout = Layout::new(&fonts);
        layout.document(&d);
        assert!(layout.pages.len() >= 3, "{} pages", layout.pages.len());
        let pdf = d.to_pdf().unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let tail = String::from_utf8_lossy(&pdf[pdf.len() - 64..]).to_string();
        assert!(tail.contains("%%EOF"), "{tail}");
    }
}
