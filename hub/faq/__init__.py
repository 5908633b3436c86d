"""The community FAQ: tenants ask, neighbours and staff answer, anyone searches.

One FAQ for the whole corporation, not one per district: most questions
(bleeding a radiator, who pays for a broken lock) are the same everywhere, and
a question from one district often helps another. Each author is shown with a
first name and their district, so readers can tell a neighbour's answer from a
stranger's without learning who either is.

    text      pure: folding, words and search terms, checks on what is written,
              the public name of an author
    rules     pure: who may ask, answer, hide and see what is hidden
    model     questions and answers as stored, and as each viewer is shown them
    store     Redis: the Lua script that changes the FAQ, the reads, the index
    service   who may do what, on top of the store; rate limits

Words used here: a *question* has a title and an optional body; an *answer*
belongs to one question. *Hidden* is what an agent made invisible for breaking
the house rules; *staff* are caretakers and agents.

This package stands on the directory and the error tree only; it never
imports presence or tickets.
"""
