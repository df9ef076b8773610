"""Lessons: a path through the course's ideas, each step checked against the learner's own run."""

import streamlit as st

from fmnist_lab import ui
from fmnist_lab.teaching.lessons import LESSONS
from fmnist_lab.ui import lessons_ui

runs, current = ui.start_page("Lessons: a path through the course")
dataset = ui.dataset_or_stop()  # every step trains: without the data set, say how to get it first
owner = ui.session_owner()
step, done = lessons_ui.progress(runs, owner)  # kept on the server under this browser's owner id

steps, body = st.columns([1, 2], gap="large")
with steps:
    step = lessons_ui.step_picker(runs, owner, step, done)
with body:
    lesson = LESSONS[step - 1]
    lessons_ui.lesson_intro(step, lesson)
    if run := lessons_ui.pick_run(runs, current, owner):
        done = lessons_ui.question(step, lesson, runs, run, owner, done, dataset)
lessons_ui.save_progress(runs, owner, step, done)
