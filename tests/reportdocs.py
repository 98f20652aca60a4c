"""Invented inspection-report texts for the tests, and builders that save them as TXT, PDF and DOCX.

Every sentence here was written for these tests (an invented partnership, "Kilbrannan"); none is
taken from a published report.
"""

from __future__ import annotations

from pathlib import Path

RUNNING_HEADER = "Kilbrannan joint inspection report"

# --- a report as it might come out of a PDF: pages joined by form feeds, with page numbers, a
# running header, a contents list, a sentence broken by a page break and by blank lines, and a
# word hyphenated at a line end.
PAGES = [
    """Joint inspection of services for young people and children at risk of harm in Kilbrannan

Report published 14 October 2025

Contents

Introduction\t2
Key messages\t2
Statement 1: Children and young people are safer because risks are identified early and responded to effectively\t3
Statement 2: Children and young people's lives improve through high quality planning and support\t3
Statement 3: Children, young people and families are involved in decisions about their lives\t4
Statement 4: Collaborative strategic leadership ensures high standards of service delivery ........ 4
Conclusion\t5

1
""",  # noqa: E501
    f"""{RUNNING_HEADER}
Introduction

This inspection took place between April and June 2025. Inspectors from four scrutiny bodies looked at how well partners kept children safe from harm.

Key messages

1. Staff across services were quick to share worries about children.
2. Chronologies needed to be more consistent.
- Children and young people told us that they trusted their key workers.
• The partnership had not yet shown the impact of its improvement plans.

2
""",  # noqa: E501
    f"""{RUNNING_HEADER}
Statement 1: Children and young people are safer because risks are identified early and responded to effectively

Recognising and responding to concerns

In almost all of the records we read, staff recognised concerns about harm and acted on them quickly. Inter-agency referral discussions were convened promptly and were of a good standard in most cases.

Police, health and social work staff shared information well, and the referral process was well under-
stood by managers in every service.

Statement 2: Children and young people's lives improve through high quality planning and support

Assessment and planning

In the majority of the records we read, the quality of assessments of risk and need was good. The quality of chronologies was weaker, and in a significant minority of records they were out of date or had not been

3
""",  # noqa: E501
    f"""{RUNNING_HEADER}

started at all. Plans were reviewed regularly for most children, although a few reviews were


postponed without a clear reason.

Statement 3: Children, young people and families are involved in decisions about their lives

Involvement in decisions

Less than half of the young people we met felt that their views had changed decisions about them. Independent advocacy was offered to some children, but none of the parents we spoke to knew how to request it.

4
""",  # noqa: E501
    f"""{RUNNING_HEADER}
Statement 4: Collaborative strategic leadership ensures high standards of service delivery

Leadership and governance

Leaders had a shared vision and were ambitious for children. Self-evaluation was not yet embedded in all services.

Conclusion

We are confident that partners in Kilbrannan can make the improvements that are needed.

5
""",  # noqa: E501
]
PAGED_TEXT = "\f".join(PAGES)

# The sentences a reader should find in PAGED_TEXT, in order: (clean text, statement section).
PAGED_SENTENCES = [
    ("This inspection took place between April and June 2025.", None),
    ("Inspectors from four scrutiny bodies looked at how well partners kept children safe from harm.", None),
    ("Staff across services were quick to share worries about children.", None),
    ("Chronologies needed to be more consistent.", None),
    ("Children and young people told us that they trusted their key workers.", None),
    ("The partnership had not yet shown the impact of its improvement plans.", None),
    ("In almost all of the records we read, staff recognised concerns about harm and acted on them quickly.", "1"),
    ("Inter-agency referral discussions were convened promptly and were of a good standard in most cases.", "1"),
    ("Police, health and social work staff shared information well, and the referral process was well "
     "understood by managers in every service.", "1"),
    ("In the majority of the records we read, the quality of assessments of risk and need was good.", "2"),
    ("The quality of chronologies was weaker, and in a significant minority of records they were out of "
     "date or had not been started at all.", "2"),
    ("Plans were reviewed regularly for most children, although a few reviews were postponed without a "
     "clear reason.", "2"),
    ("Less than half of the young people we met felt that their views had changed decisions about them.", "3"),
    ("Independent advocacy was offered to some children, but none of the parents we spoke to knew how to "
     "request it.", "3"),
    ("Leaders had a shared vision and were ambitious for children.", "4"),
    ("Self-evaluation was not yet embedded in all services.", "4"),
    ("We are confident that partners in Kilbrannan can make the improvements that are needed.", None),
]

# --- one report as a list of blocks, to be saved as .txt, .pdf and .docx.
# kinds: title, heading, subheading, para, number (numbered list item), bullet, newpage.
# A "\f" inside a paragraph is where the PDF starts a new page (mid-sentence).
BLOCKS: list[tuple[str, str]] = [
    ("title", "Joint inspection of services for young people and children at risk of harm in Kilbrannan"),
    ("heading", "Introduction"),
    ("para", "This joint inspection took place between April and June 2025. Inspectors from the Care "
             "Inspectorate, Education Scotland, Healthcare Improvement Scotland and His Majesty's "
             "Inspectorate of Constabulary in Scotland looked at how well the partnership in Kilbrannan "
             "protected children and young people from harm, and at the difference its services made to "
             "their lives."),
    ("para", "We read the records of 60 children and young people, met staff from every service and spoke "
             "with children, parents and carers about their experiences."),
    ("heading", "Key messages"),
    ("number", "Staff across services were quick to recognise and share worries about children."),
    ("number", "Chronologies needed to be more consistent and more often up to date."),
    ("bullet", "Children and young people told us that they trusted their key workers."),
    ("bullet", "The partnership had not yet shown the impact of its improvement plans on children's lives."),
    ("newpage", ""),
    ("heading", "Statement 1: Children and young people are safer because risks are identified early "
                "and responded to effectively"),
    ("subheading", "Recognising and responding to concerns"),
    ("para", "In almost all of the records we read, staff recognised concerns about harm and acted on them "
             "quickly. Inter-agency referral discussions were convened promptly, involved the right people "
             "and were of a good standard in most cases. Decisions about the immediate safety of children "
             "were clearly recorded, and the reasons for them were explained to families in a way that they "
             "could understand."),
    ("para", "Police, health and social work staff shared information well with each other. Managers in "
             "every service understood the referral process, and staff knew who to contact outside office "
             "hours when they were worried about a child."),
    ("subheading", "Staff learning and confidence"),
    ("para", "Most staff who responded to our survey were confident about what to do when they had a "
             "concern, and they valued the multi-agency training that the child protection committee had "
             "organised over the previous two years. A few staff in adult services were less sure about how "
             "to \f share their concerns about children whose parents were using their service, and the "
             "partnership had begun to address this."),
    ("heading", "Statement 2: Children and young people's lives improve through high quality planning and support"),
    ("subheading", "Assessment and planning"),
    ("para", "In the majority of the records we read, the quality of assessments of risk and need was good "
             "or better. The quality of chronologies was weaker, and in a significant minority of records "
             "they were out of date or had not been started at all. Plans were reviewed regularly for most "
             "children, although a few reviews were postponed without a clear reason being recorded."),
    ("para", "Less than half of the young people we met felt that their views had changed the decisions that "
             "were made about them, and independent advocacy was not offered to all of those who might have "
             "benefited from it."),
    ("newpage", ""),
    ("heading", "Statement 4: Collaborative strategic leadership ensures high standards of service delivery"),
    ("subheading", "Leadership and governance"),
    ("para", "Leaders had a shared vision and were ambitious for the children of Kilbrannan. The chief "
             "officers group received regular reports on child protection activity and challenged partners "
             "when performance fell short of what had been expected."),
    ("para", "Self-evaluation was not yet embedded across all services, and leaders could not yet show the "
             "difference that their improvement work had made to outcomes for children and young people."),
    ("heading", "Conclusion"),
    ("para", "We are confident that partners in Kilbrannan have the capacity to make the improvements that "
             "are needed."),
]


def _plain(text: str) -> str:
    return " ".join(text.replace("\f", " ").split())


def blocks_to_txt(blocks=BLOCKS) -> str:
    """The report as a plain text file: one block per paragraph, list markers on list items."""
    out, number = [], 0
    for kind, text in blocks:
        if kind == "newpage":
            continue
        if kind == "number":
            number += 1
            out.append(f"{number}. {_plain(text)}")
        else:
            number = 0
            out.append(("- " if kind == "bullet" else "") + _plain(text))
    return "\n\n".join(out) + "\n"


def write_pdf(path: Path, blocks=BLOCKS, header: str = RUNNING_HEADER) -> Path:
    """Lay the blocks out with reportlab: wrapped lines, header and page-number footer on every page."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import simpleSplit
    from reportlab.pdfgen import canvas

    width, height = A4
    margin, bottom = 72, 72
    c = canvas.Canvas(str(path), pagesize=A4)
    state = {"page": 1, "y": height - 90}

    def header_():
        c.setFont("Helvetica", 8)
        c.drawString(margin, height - 40, header)

    def footer():
        c.setFont("Helvetica", 8)
        c.drawCentredString(width / 2, 36, f"Page {state['page']}")

    def new_page():
        footer()
        c.showPage()
        state["page"] += 1
        state["y"] = height - 90
        header_()

    styles = {"title": ("Helvetica-Bold", 18), "heading": ("Helvetica-Bold", 14),
              "subheading": ("Helvetica-Bold", 12)}
    header_()
    number = 0
    for kind, text in blocks:
        if kind == "newpage":
            new_page()
            continue
        font, size = styles.get(kind, ("Helvetica", 10))
        if kind == "number":
            number += 1
            text = f"{number}. {text}"
        else:
            number = 0
            if kind == "bullet":
                text = "• " + text
        for k, part in enumerate(text.split("\f")):
            if k:
                new_page()
            for line in simpleSplit(" ".join(part.split()), font, size, width - 2 * margin):
                if state["y"] < bottom:
                    new_page()
                c.setFont(font, size)
                c.drawString(margin, state["y"], line)
                state["y"] -= size * 1.35
        state["y"] -= 10
    footer()
    c.save()
    return path


def write_docx(path: Path, blocks=BLOCKS) -> Path:
    import docx

    d = docx.Document()
    for kind, text in blocks:
        text = _plain(text)
        if kind == "newpage":
            d.add_page_break()
        elif kind == "title":
            d.add_heading(text, 0)
        elif kind == "heading":
            d.add_heading(text, 1)
        elif kind == "subheading":
            d.add_heading(text, 2)
        elif kind == "number":
            d.add_paragraph(text, style="List Number")
        elif kind == "bullet":
            d.add_paragraph(text, style="List Bullet")
        else:
            d.add_paragraph(text)
    d.save(str(path))
    return path


def write_text_pdf(path: Path, lines: list[str], pages: int = 1, encrypt=None) -> Path:
    """A simple PDF with the same lines of text on each page."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path), encrypt=encrypt)
    for _ in range(pages):
        y = 760
        for line in lines:
            c.drawString(72, y, line)
            y -= 16
        c.showPage()
    c.save()
    return path


def write_rectangle_pdf(path: Path) -> Path:
    """A PDF page with only a drawn rectangle: no text layer, like a scan."""
    from reportlab.pdfgen import canvas

    c = canvas.Canvas(str(path))
    c.setFillGray(0.6)
    c.rect(90, 300, 400, 250, fill=1)
    c.showPage()
    c.save()
    return path
