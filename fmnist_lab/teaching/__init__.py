"""What turns the lab into a course: guided lessons, shareable setup links and the Keras code behind a run."""
