"""A small multi-document QA prompt shared by the teacher tests (three documents, one answers)."""

CONTEXT = "\n".join(
    [
        "Document [1](Title: Mount Everest) Mount Everest is the highest mountain above sea level. "
        "It lies in the Himalayas on the border of Nepal and China.",
        "Document [2](Title: Nobel Prize in Physics) The first Nobel Prize in Physics was awarded to "
        "Wilhelm Conrad Röntgen of Germany. He received it for the discovery of X-rays.",
        "Document [3](Title: Bread) Bread is a staple food prepared from a dough of flour and water, "
        "usually by baking. It has been eaten throughout recorded history.",
    ]
)
QUESTION = "who got the first nobel prize in physics"
