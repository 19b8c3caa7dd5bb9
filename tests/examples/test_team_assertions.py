"""A team's own assertions, as plain tests (run with ``pytest --model reference``).

``generate`` draws with the model under test (through the generation store), ``expect`` judges
the image with the same detectors as the suites.
"""

from pytest_ureason import expect


def test_three_red_apples(generate):
    image = generate("three red apples on a white table")
    expect(image).count("apple") == 3
    expect(image).color("apple", "red")
    expect(image).absent("banana")


def test_cup_left_of_book(generate):
    image = generate("a blue cup to the left of a green book")
    expect(image).relation("cup", "left of", "book")
    expect(image).count("book") >= 1


def test_sign_text(generate):
    image = generate('a sign that reads "OPEN 24"')
    expect(image).text(contains="open 24")


def test_counts_what_it_sees_not_what_was_asked(generate):
    # Deliberately wrong expectation: this test must fail, with the detector's count.
    image = generate("two dogs")
    expect(image).count("dog") == 5
