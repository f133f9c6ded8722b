from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=50)

    class Meta:
        indexes = [models.Index(fields=["text"], name="probe_note_text_idx")]

    def __str__(self):
        return self.text
