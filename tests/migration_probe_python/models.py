from django.db import models


class Stamp(models.Model):
    schema = models.CharField(max_length=63)

    def __str__(self):
        return self.schema
