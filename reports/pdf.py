"""The stock-movement report as PDF, drawn straight on a ReportLab canvas.

ReportLab's platypus `Table` lays out ~3 000 rows/s, far too slow for a month of a busy warehouse, so the
tables here are drawn directly: fixed column positions, every cell truncated to its column by a
precomputed character budget, one pre-formatted run of PDF text operators per row (`addLiteral`), a new
page with the repeated header whenever a page is full. Movements are consumed from an iterator, so
memory holds the page streams, never the ledger rows. Column headers are form XObjects drawn once.
The daily net chart is ReportLab graphics (`VerticalBarChart`) summed from the streamed movements and
placed on page 1 as a form defined at the end. "Page N of M": the layout is fixed, so M follows from
the number of summary rows and movements, both known before drawing (`page_count`).
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import BinaryIO

from reportlab import rl_config
from reportlab.graphics import renderPDF
from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.shapes import Drawing, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase.pdfmetrics import getFont
from reportlab.pdfgen.canvas import Canvas

from .selectors import Report

PAGE_WIDTH, PAGE_HEIGHT = landscape(A4)
MARGIN = 28
FONT, BOLD, SIZE = "Helvetica", "Helvetica-Bold", 7
LEADING = 9.5
TOP = PAGE_HEIGHT - MARGIN - 14  # first row baseline under the page header
BOTTOM = MARGIN + 16  # keep clear of the footer

# (title, width in points, right-aligned)
MOVEMENT_COLUMNS = (
    ("Time", 78, False), ("Warehouse", 58, False), ("SKU", 86, False), ("Product", 164, False),
    ("Kind", 56, False), ("Change", 56, True), ("After", 62, True), ("Actor", 86, False),
    ("Reference", 96, False), ("Reason", 44, False),
)
SUMMARY_COLUMNS = (
    ("Warehouse", 70, False), ("SKU", 110, False), ("Product", 246, False), ("Opening", 90, True),
    ("In", 90, True), ("Out", 90, True), ("Closing", 90, True),
)
CHART_HEIGHT = 150
TITLE_LINES = 5
# Where the summary table's header sits on page 1 (under the title block, the chart and the caption)
SUMMARY_TOP = PAGE_HEIGHT - MARGIN - 14 - 12 * TITLE_LINES - CHART_HEIGHT - 8 - 18 - 14
MOVEMENTS_TOP = TOP - 8  # the movement table's header on its first page (under its caption)
PAGE_COMPRESSION = 1  # zlib per page: a small CPU cost for files about 5× smaller (docs/BENCHMARKS.md)
# Compressed streams are binary, not ASCII85-wrapped: without ReportLab's optional C accelerator the
# pure-Python ASCII85 encoder costs more than drawing the pages (a third of the time at 100k rows).
# Process-wide ReportLab setting; this project renders no other PDF.
rl_config.useA85 = 0

_font = getFont(FONT)
_WIDEST = max(_font.widths) * SIZE / 1000  # the widest glyph: a budget safe for any text
_DIGIT = _font.widths[ord("0")] * SIZE / 1000  # all Helvetica digits share one width
_MINUS = _font.widths[ord("-")] * SIZE / 1000
_WIDTHS = _font.widths  # glyph widths (1/1000 em) indexed by cp1252 byte
_ELLIPSIS = 3 * _font.widths[ord(".")]
_FIT_CACHE = 20_000
_FORM_BASELINE = 10  # a header form draws its baseline here (its bounding box starts at 0)

# PDF literal-string escaping for a WinAnsi (cp1252) font: specials escaped, control chars blanked,
# bytes above 127 written as octal escapes.
_ESCAPE = {i: " " for i in range(32)}
_ESCAPE.update({ord("\\"): "\\\\", ord("("): "\\(", ord(")"): "\\)", 127: " "})
_ESCAPE.update({i: f"\\{i:03o}" for i in range(128, 256)})


def _pdf_text(value: str) -> str:
    if not value.isascii():
        value = value.encode("cp1252", "replace").decode("latin-1")
    return value.translate(_ESCAPE)


def _is_plain(value: str) -> bool:
    """Printable ASCII without PDF string specials: usable as is."""
    return value.isascii() and value.isprintable() and "(" not in value and ")" not in value and "\\" not in value


class _Column:
    """A column's geometry (left x, right x, width) and its text fitting.

    `budget` is how many of the widest glyph fit: any shorter text fits without measuring. Longer
    text is measured once with the font's width table and truncated with an ellipsis; results are
    memoised per column, since SKUs, names, actors and kinds repeat on every page.
    """

    def __init__(self, x: float, width: float, right: bool):
        self.x, self.width, self.right = x, width, right
        self.right_x = x + width - 4
        self.room = (width - 4) * 1000 / SIZE  # in glyph units
        self.budget = int((width - 4) // _WIDEST)
        self.x_str = f"{x:.2f}"
        self._texts: dict[str, str] = {}
        self._number_x: dict[tuple[int, int], str] = {}

    def fit(self, value: str) -> str:
        """`value`, or its longest prefix that fits with "..." appended."""
        return value if len(value) <= self.budget else self._truncate(value)

    def text(self, value: str) -> str:
        """`value` fitted to the column and escaped for a PDF string (memoised: values repeat)."""
        text = self._texts.get(value)
        if text is None:
            if len(self._texts) > _FIT_CACHE:
                self._texts.clear()
            if len(value) <= self.budget and _is_plain(value):
                text = value
            else:
                text = _pdf_text(self._truncate(value))
            self._texts[value] = text
        return text

    def number_x(self, text: str) -> str:
        """The x at which the integer `text` starts so that it ends at the right edge (digits share a width)."""
        key = (len(text), text.count("-"))
        x = self._number_x.get(key)
        if x is None:
            width = (key[0] - key[1]) * _DIGIT + key[1] * _MINUS
            x = self._number_x[key] = f"{self.right_x - width:.2f}"
        return x

    def _truncate(self, value: str) -> str:
        widths = [_WIDTHS[b] for b in value.encode("cp1252", "replace")]
        if sum(widths) <= self.room:
            return value
        room, used = self.room - _ELLIPSIS, 0
        for index, width in enumerate(widths):
            used += width
            if used > room:
                return value[:index] + "..."
        return value


def _columns(spec) -> list[_Column]:
    x, columns = MARGIN, []
    for _title, width, right in spec:
        columns.append(_Column(x, width, right))
        x += width
    return columns


class _TableWriter:
    """Writes rows of one table, starting a new page (header repeated) when one is full."""

    def __init__(self, pdf: "_ReportCanvas", spec, *, first_top: float, verbatim: dict[int, str] | None = None):
        """`verbatim`: column index → a sample of its values, which are all of one plain ASCII shape that
        fits whenever the sample does (the time column: digits share one width): drawn as they come, without
        fitting or memoising a value that never repeats. Checked here against the sample."""
        self.pdf, self.spec, self.columns = pdf, spec, _columns(spec)
        for index, sample in (verbatim or {}).items():
            column = self.columns[index]
            if column.right or not _is_plain(sample) or column.fit(sample) != sample:
                raise ValueError(f"column {index} cannot take {sample!r} verbatim")
        self._verbatim = [index in (verbatim or {}) for index in range(len(self.columns))]
        self.font = pdf.font_name
        self.y = first_top
        self._y_strings: dict[float, str] = {}
        self._template = " ".join(
            "1 0 0 1 %s %s Tm (%s) Tj" if column.right else f"1 0 0 1 {column.x_str} %s Tm (%s) Tj"
            for column in self.columns
        )
        self._header()

    def _header(self):
        """The column titles and rule: drawn once as a form XObject, placed on every page."""
        canvas = self.pdf.canvas
        name = f"header_{id(self.spec)}"
        if name not in self.pdf.forms:
            canvas.beginForm(name)
            canvas.setFont(BOLD, SIZE)
            for (title, _width, right), column in zip(self.spec, self.columns, strict=True):
                if right:
                    canvas.drawRightString(column.right_x, _FORM_BASELINE, title)
                else:
                    canvas.drawString(column.x, _FORM_BASELINE, title)
            canvas.setLineWidth(0.5)
            canvas.line(MARGIN, _FORM_BASELINE - 2.5, PAGE_WIDTH - MARGIN, _FORM_BASELINE - 2.5)
            canvas.endForm()
            self.pdf.forms.add(name)
        canvas.saveState()
        canvas.translate(0, self.y - _FORM_BASELINE)
        canvas.doForm(name)
        canvas.restoreState()
        canvas.setFont(FONT, SIZE)
        self.y -= LEADING

    def _row_literal(self, cells: Iterable) -> str:
        # Hot loop (once per movement): one %-template per table, memoised texts and positions.
        y = self._y_strings.get(self.y)
        if y is None:
            y = self._y_strings[self.y] = f"{self.y:.2f}"
        args = []
        for column, value, verbatim in zip(self.columns, cells, self._verbatim, strict=True):
            if column.right:  # integers, right-aligned
                text = str(value)
                args += (column.number_x(text), y, text)
            elif verbatim:  # plain and known to fit (see __init__)
                args += (y, value)
            else:
                text = column._texts.get(value)
                if text is None:
                    text = column.text(value)
                args += (y, text)
        return self._template % tuple(args)

    def write_rows(self, rows: Iterable) -> int:
        """Draw every row; returns how many."""
        count, batch = 0, []
        for cells in rows:
            if self.y < BOTTOM:
                self._flush(batch)
                batch = []
                self.pdf.new_page()
                self.y = TOP
                self._header()
            batch.append(self._row_literal(cells))
            self.y -= LEADING
            count += 1
        self._flush(batch)
        return count

    def _flush(self, batch: list[str]):
        if batch:
            self.pdf.canvas.addLiteral(f"BT {self.font} {SIZE} Tf\n" + "\n".join(batch) + "\nET")


class _ReportCanvas:
    """The canvas plus the page furniture: footer with "Page N of M" on every page."""

    def __init__(self, out: BinaryIO, *, title: str, author: str, pages: int):
        self.canvas = Canvas(out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), pageCompression=PAGE_COMPRESSION,
                             initialFontName=FONT, initialFontSize=SIZE)
        self.canvas.setTitle(title)
        self.canvas.setAuthor(author)
        self.title = title
        self.pages = pages
        self.forms: set[str] = set()
        self.page = 1
        self.canvas.setFont(FONT, SIZE)
        # The font's resource name, for the raw text runs (registered by setFont above).
        self.font_name = self.canvas._doc.getInternalFontName(FONT)

    def _footer(self):
        canvas = self.canvas
        canvas.setFont(FONT, SIZE)
        canvas.drawString(MARGIN, MARGIN, self.title)
        # max(): should the ledger have grown between the count and the stream, never print "Page 7 of 6".
        canvas.drawRightString(PAGE_WIDTH - MARGIN, MARGIN, f"Page {self.page} of {max(self.pages, self.page)}")

    def new_page(self):
        self._footer()
        self.canvas.showPage()
        self.page += 1
        self.canvas.setFont(FONT, SIZE)

    def close_page(self):
        self._footer()
        self.canvas.showPage()


def _rows_fitting(top: float) -> int:
    """How many rows a table whose header sits at `top` holds on one page (same rule as `write_rows`)."""
    return int((top - LEADING - BOTTOM) // LEADING) + 1


def _pages_for(rows: int, first_top: float) -> int:
    first, more = _rows_fitting(first_top), _rows_fitting(TOP)
    return 1 + (max(0, rows - first) + more - 1) // more


def page_count(*, summary_rows: int, movements: int) -> int:
    """Pages of a report: the title page and summary continuation pages, then the movement pages."""
    return _pages_for(summary_rows, SUMMARY_TOP) + _pages_for(movements, MOVEMENTS_TOP)


def _chart(daily: list[tuple[str, int]]) -> Drawing:
    width = PAGE_WIDTH - 2 * MARGIN
    drawing = Drawing(width, CHART_HEIGHT)
    drawing.add(String(0, CHART_HEIGHT - 10, "Daily net movement (units in - units out)", fontName=BOLD,
                       fontSize=8))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 18, width - 50, CHART_HEIGHT - 40
    chart.data = [[net for _day, net in daily]]
    chart.categoryAxis.categoryNames = [day[8:] for day, _net in daily]
    chart.categoryAxis.labels.fontSize = 6
    chart.valueAxis.labels.fontSize = 6
    chart.valueAxis.forceZero = True
    chart.bars[0].fillColor = colors.HexColor("#3b6ea5")
    chart.bars[0].strokeColor = None
    drawing.add(chart)
    return drawing


def write_report_pdf(report: Report, movements: Iterable[tuple], out: BinaryIO, *, warehouses: str,
                     generated_by: str, generated_at: datetime) -> int:
    """Write the report to `out`: title block, chart, summary table, then every movement.

    `movements` are tuples in `reports.selectors.MOVEMENT_COLUMNS` order (created_at local-aware).
    Returns the number of movement rows drawn.
    """
    period = report.period
    span = f"{period.first_day.isoformat()} to {(period.first_day + timedelta(days=period.days - 1)).isoformat()}"
    title = f"Stock movements, {period.kind} report, {span} ({period.time_zone}), {warehouses}"
    pages = page_count(summary_rows=len(report.rows), movements=report.movement_count)
    pdf = _ReportCanvas(out, title=title, author=generated_by, pages=pages)
    canvas = pdf.canvas

    y = PAGE_HEIGHT - MARGIN - 14
    canvas.setFont(BOLD, 14)
    canvas.drawString(MARGIN, y, f"Stock movements: {period.kind} report")
    canvas.setFont(FONT, 9)
    lines = (
        f"Period: {span} (start {period.start.isoformat()}, end {period.end.isoformat()} exclusive)",
        f"Time zone: {period.time_zone}",
        f"Warehouses: {warehouses}",
        f"Generated at {generated_at.isoformat(timespec='seconds')} by {generated_by}",
        f"Movements: {report.movement_count}    Stock rows: {len(report.rows)}",
    )
    assert len(lines) == TITLE_LINES
    for line in lines:
        y -= 12
        canvas.drawString(MARGIN, y, line)

    # The chart sums the very movements listed below, while they stream; it is a form XObject placed
    # here and defined once the stream is done.
    y -= CHART_HEIGHT + 8
    chart_y = y
    canvas.doForm("daily_chart")

    y -= 18
    canvas.setFont(BOLD, 10)
    canvas.drawString(MARGIN, y, "Summary per product and warehouse (opening + in - out = closing)")
    summary = _TableWriter(pdf, SUMMARY_COLUMNS, first_top=SUMMARY_TOP)
    summary.write_rows((row["warehouse_code"], row["sku"], row["name"], row["opening"], row["in"], row["out"],
                        row["closing"]) for row in report.rows)
    if not report.rows:
        canvas.drawString(MARGIN, summary.y, "No stock and no movement in this period.")

    pdf.new_page()
    canvas.setFont(BOLD, 10)
    canvas.drawString(MARGIN, PAGE_HEIGHT - MARGIN - 4, "Movements (oldest first)")
    # The time column's values are unique (memoising them only churns the cache) and all of one shape.
    table = _TableWriter(pdf, MOVEMENT_COLUMNS, first_top=MOVEMENTS_TOP, verbatim={0: "0000-00-00 00:00:00"})
    net_by_day: dict[str, int] = {}

    def rows_counting_net():
        for created_at, warehouse, sku, name, kind, change, *rest in movements:
            moment = created_at.isoformat(" ", "seconds")[:19]
            day = moment[:10]
            net_by_day[day] = net_by_day.get(day, 0) + change
            yield (moment, warehouse, sku, name, kind, change, *rest)

    drawn = table.write_rows(rows_counting_net())
    if drawn == 0:
        canvas.drawString(MARGIN, table.y, "No movements in this period.")
    pdf.close_page()
    days = [(period.first_day + timedelta(days=n)).isoformat() for n in range(period.days)]
    canvas.beginForm("daily_chart")
    renderPDF.draw(_chart([(day, net_by_day.get(day, 0)) for day in days]), canvas, MARGIN, chart_y)
    canvas.endForm()
    canvas.save()
    return drawn

